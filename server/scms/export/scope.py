"""Where a rule applies: globs from the pattern's languages (their file extensions) and its evidence's folders."""

from __future__ import annotations

from pathlib import PurePosixPath

from scms.model import Pattern

# editor language ids (those scms.store.source gives) -> the file extensions they cover
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "python": ("py", "pyi"), "javascript": ("js", "jsx", "mjs", "cjs"), "javascriptreact": ("jsx",),
    "typescript": ("ts", "tsx"), "typescriptreact": ("tsx",), "go": ("go",), "rust": ("rs",), "java": ("java",),
    "kotlin": ("kt", "kts"), "c": ("c", "h"), "cpp": ("cpp", "cc", "cxx", "hpp", "hh"), "csharp": ("cs",),
    "ruby": ("rb",), "php": ("php",), "swift": ("swift",), "scala": ("scala",), "shellscript": ("sh", "bash"),
    "sql": ("sql",), "markdown": ("md",), "yaml": ("yaml", "yml"), "toml": ("toml",), "json": ("json",),
    "html": ("html", "htm"), "css": ("css",), "scss": ("scss",), "vue": ("vue",), "svelte": ("svelte",),
    "dart": ("dart",), "lua": ("lua",), "r": ("r",), "elixir": ("ex", "exs"), "haskell": ("hs",),
}
NAMES: dict[str, str] = {
    "python": "Python", "javascript": "JavaScript", "javascriptreact": "JavaScript (React)",
    "typescript": "TypeScript", "typescriptreact": "TypeScript (React)", "go": "Go", "rust": "Rust",
    "java": "Java", "kotlin": "Kotlin", "c": "C", "cpp": "C++", "csharp": "C#", "ruby": "Ruby", "php": "PHP",
    "swift": "Swift", "scala": "Scala", "shellscript": "Shell", "sql": "SQL", "markdown": "Markdown",
    "yaml": "YAML", "toml": "TOML", "json": "JSON", "html": "HTML", "css": "CSS", "scss": "SCSS",
}
_GLOB_SPECIAL = set("*?[]{},!\\\"'") | {"\n", "\r", "\t"}


def language_globs(pattern: Pattern) -> list[str]:
    """`**/*.py`, `**/*.pyi` for Python, …, in the pattern's language order; unknown languages add none."""
    globs: list[str] = []
    for language in pattern.languages:
        for ext in EXTENSIONS.get(language.strip().lower(), ()):
            glob = f"**/*.{ext}"
            if glob not in globs:
                globs.append(glob)
    return globs


def evidence_globs(pattern: Pattern) -> list[str]:
    """`src/api/**` for evidence in `src/api/retry.py` (a file at the root: the file itself), sorted; a path that
    is absolute, climbs with `..`, or holds characters a glob or a comma-separated list would misread is left out."""
    globs: set[str] = set()
    for evidence in pattern.evidence:
        path = evidence.file.strip()
        if not path or any(ch in _GLOB_SPECIAL for ch in path) or path.startswith("/") or ":" in path[:2]:
            continue
        parts = PurePosixPath(path).parts
        if ".." in parts or "." in parts:
            continue
        globs.add(f"{PurePosixPath(*parts[:-1]).as_posix()}/**" if len(parts) > 1 else parts[0])
    return sorted(globs)


def globs(pattern: Pattern) -> list[str]:
    """Language globs, then evidence folders: the rule applies to a file that matches any of them."""
    found = language_globs(pattern)
    return found + [g for g in evidence_globs(pattern) if g not in found]


def language_names(pattern: Pattern) -> list[str]:
    return [NAMES.get(language.lower(), language) for language in pattern.languages if language.strip()]


def fence_language(pattern: Pattern) -> str:
    """The snippet fence's info string: the first language id, reduced to characters a fence accepts."""
    language = pattern.languages[0].strip().lower() if pattern.languages else ""
    language = {"typescriptreact": "tsx", "javascriptreact": "jsx", "shellscript": "sh"}.get(language, language)
    return "".join(ch for ch in language if ch.isalnum() or ch in "+#.-_")
