"""`python -m benchmarks.encoder_footprint`: memory and load time of the embedding model on the small BERT
encoder (scms.recall.bert) against sentence-transformers, each in a fresh process at one torch thread.

Each process imports torch and numpy (the server has them loaded anyway), then loads the default model and
encodes a few standard-library functions; it reports the load time (imports of the encoder's libraries
included), the time of that first encode, and VmRSS / VmHWM from /proc/self/status.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, sysconfig, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

from scms.recall.embeddings import MAX_TOKENS, default_model_path
path = default_model_path()
source = (Path(sysconfig.get_paths()["stdlib"]) / "shutil.py").read_text().split("\ndef ")
texts = ["def " + chunk[:1000] for chunk in source[1:9]]
before = status("VmRSS")
started = time.perf_counter()
if sys.argv[1] == "bert":
    from scms.recall.bert import BertEncoder
    model = BertEncoder(path, MAX_TOKENS)
    encode = lambda: model.encode(texts)
else:
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(path), device="cpu")
    model.max_seq_length = MAX_TOKENS
    encode = lambda: model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
loaded = time.perf_counter()
vectors = encode()
done = time.perf_counter()
print(json.dumps({"load_s": loaded - started, "encode_s": done - loaded, "rss_before_mb": before,
                  "rss_mb": status("VmRSS"), "hwm_mb": status("VmHWM"), "dim": int(vectors.shape[1])}))
"""


def measure(which: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, which], capture_output=True, text=True, check=True,
                         env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                              "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(repeats: int = 3) -> None:
    runs = {"bert": [], "sentence-transformers": []}
    for _ in range(repeats):  # alternate, so that both see the same machine load
        for which in runs:
            runs[which].append(measure(which))
    for which, results in runs.items():
        median = {key: statistics.median(r[key] for r in results) for key in results[0]}
        print(f"{which:22s} load {median['load_s']:.2f} s (min {min(r['load_s'] for r in results):.2f}), "
              f"first encode {median['encode_s'] * 1000:.0f} ms, RSS {median['rss_mb']:.0f} MB "
              f"(before loading {median['rss_before_mb']:.0f} MB, peak {median['hwm_mb']:.0f} MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
