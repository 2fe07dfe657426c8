"""Secret scanning before anything is written where git will see it (issue 12).

Every secret below is fake: built at run time from random characters of the format's alphabet, so no real
credential and no string a push-protection scanner would take for one is committed here.

Measured on the whole standard library of this machine (1,786 .py files, 857,886 lines; `find_secrets` on
each file): 246 lines flagged (0.029 %) in 27 files (1.5 %), all but 3 of them in test suites (hex digests
in test_hashlib/test_hmac, base64/uuid fixtures, `password = 'python'`, `http://joe:password@proxy`);
outside the tests: a digest in hashlib.py's docstring, a token example in secrets.py's docstring and the
`passwd='geheim$parole'` example in urllib/request.py's docstring.
"""

from __future__ import annotations

import base64
import json
import random
import string
import sysconfig
from pathlib import Path

import pytest

from scms.errors import InvalidInput
from scms.memory import Memory
from scms.model import Tier
from scms.secrets import Secret, check_text, find_secrets
from scms.store import files

from conftest import COPYFILEOBJ_LINES, remember_lines

STDLIB = Path(sysconfig.get_paths()["stdlib"])
UP, LOW, DIG = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UP + LOW + DIG
HEX = DIG + "abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def rand(seed: int, alphabet: str, n: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def corpus(rng: random.Random) -> list[tuple[str, str, str]]:
    """(format, the code it appears in, a word the reported kind must contain), one per secret format."""
    def r(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    def b64url(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    def pem(label: str) -> str:
        body = "\n".join(r(B64, 64) for _ in range(4))
        return f'KEY = """-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"""'

    gh = lambda prefix: f'GITHUB_TOKEN = "{prefix}_{r(ALNUM, 36)}"'  # noqa: E731
    jwt = ".".join([b64url({"alg": "HS256", "typ": "JWT"}), b64url({"sub": r(DIG, 8), "admin": True}),
                    r(URLSAFE, 43)])
    return [
        ("AWS access key id", f"AWS_ACCESS_KEY_ID=AKIA{r(UP + DIG, 16)}", "AWS"),
        ("AWS secret access key", f'aws_secret_access_key = "{r(B64, 40)}"', "AWS"),
        ("AWS session key id", f'creds = {{"AccessKeyId": "ASIA{r(UP + DIG, 16)}"}}', "AWS"),
        ("GitHub classic token", gh("ghp"), "GitHub"),
        ("GitHub OAuth token", gh("gho"), "GitHub"),
        ("GitHub app user token", gh("ghu"), "GitHub"),
        ("GitHub app installation token", gh("ghs"), "GitHub"),
        ("GitHub refresh token", gh("ghr"), "GitHub"),
        ("GitHub fine-grained token", f"export GH_TOKEN=github_pat_{r(ALNUM, 22)}_{r(ALNUM, 59)}", "GitHub"),
        ("GitLab personal token", f'gitlab = Gitlab(url, private_token="glpat-{r(URLSAFE, 20)}")', "GitLab"),
        ("GitLab runner token", f"  token: glrt-{r(URLSAFE, 20)}", "GitLab"),
        ("Slack bot token", f'SLACK_BOT_TOKEN = "xoxb-{r(DIG, 12)}-{r(DIG, 13)}-{r(LOW + DIG, 24)}"', "Slack"),
        ("Slack user token", f'client = WebClient(token="xoxp-{r(DIG, 12)}-{r(DIG, 12)}-{r(DIG, 13)}-'
                             f'{r(HEX, 32)}")', "Slack"),
        ("Slack app token", f"SLACK_APP_TOKEN=xapp-1-A{r(UP + DIG, 10)}-{r(DIG, 13)}-{r(HEX, 64)}", "Slack"),
        ("Slack webhook", f'WEBHOOK = "https://hooks.slack.com/services/T{r(UP + DIG, 8)}/B{r(UP + DIG, 10)}/'
                          f'{r(ALNUM, 24)}"', "Slack"),
        ("Stripe live secret key", f'stripe.api_key = "sk_live_{r(ALNUM, 24)}"', "Stripe"),
        ("Stripe restricted key", f"STRIPE_KEY=rk_live_{r(ALNUM, 24)}", "Stripe"),
        ("Stripe test secret key", f'stripe.api_key = "sk_test_{r(ALNUM, 24)}"', "Stripe"),
        ("Stripe webhook secret", f'endpoint_secret = "whsec_{r(ALNUM, 32)}"', "Stripe"),
        ("Twilio account SID", f'account_sid = "AC{r(HEX, 32)}"', "Twilio"),
        ("Twilio API key", f'api_key = "SK{r(HEX, 32)}"', "Twilio"),
        ("Twilio auth token", f'TWILIO_AUTH_TOKEN = "{r(HEX, 32)}"', "Twilio"),
        ("SendGrid API key", f'sg = SendGridAPIClient("SG.{r(URLSAFE, 22)}.{r(URLSAFE, 43)}")', "SendGrid"),
        ("Mailchimp API key", f'MAILCHIMP_KEY = "{r(HEX, 32)}-us{rng.randint(1, 20)}"', "Mailchimp"),
        ("npm token in .npmrc", f"//registry.npmjs.org/:_authToken=npm_{r(ALNUM, 36)}", "npm"),
        ("npm token", f'NPM_TOKEN: "npm_{r(ALNUM, 36)}"', "npm"),
        ("PyPI upload token", f"password = pypi-AgEIcHlwaS5vcmc{r(URLSAFE, 120)}", "PyPI"),
        ("Google API key", f'GOOGLE_API_KEY = "AIza{r(URLSAFE, 35)}"', "Google"),
        ("Google OAuth client secret", f'"client_secret": "GOCSPX-{r(URLSAFE, 28)}",', "Google"),
        ("GCP service-account JSON", '{\n  "type": "service_account",\n  "project_id": "demo",\n'
                                     f'  "private_key_id": "{r(HEX, 40)}",\n  "private_key": "-----BEGIN PRIVATE'
                                     f' KEY-----\\n{r(B64, 64)}\\n-----END PRIVATE KEY-----\\n"\n}}', "service-account"),
        ("Azure storage connection string", "AZURE_STORAGE=DefaultEndpointsProtocol=https;AccountName=demo;"
                                            f"AccountKey={r(B64, 86)}==;EndpointSuffix=core.windows.net", "Azure"),
        ("Azure AD client secret", f'client_secret = "{r(ALNUM, 3)}{r(DIG, 1)}Q~{r(ALNUM + "_~.-", 34)}"', "Azure"),
        ("Azure SAS token", f'url = "https://demo.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r'
                            f'&se=2030-01-01T00:00:00Z&sig={r(ALNUM, 43)}%3D"', "Azure"),
        ("Heroku API key", f"HEROKU_API_KEY={r(HEX, 8)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 12)}", "Heroku"),
        ("JSON web token", f'headers = {{"Authorization": "Bearer {jwt}"}}', "token"),
        ("RSA private key", pem("RSA PRIVATE KEY"), "private key"),
        ("EC private key", pem("EC PRIVATE KEY"), "private key"),
        ("OpenSSH private key", pem("OPENSSH PRIVATE KEY"), "private key"),
        ("PGP private key", pem("PGP PRIVATE KEY BLOCK"), "private key"),
        ("PKCS#8 private key", pem("PRIVATE KEY"), "private key"),
        ("encrypted PKCS#8 private key", pem("ENCRYPTED PRIVATE KEY"), "private key"),
        ("DSA private key", pem("DSA PRIVATE KEY"), "private key"),
        ("PuTTY key file", f"PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 14\n{r(B64, 64)}", "private key"),
        ("basic auth in a database URL", f'DATABASE_URL = "postgres://app:{r(ALNUM, 16)}@db.internal:5432/app"',
         "basic auth"),
        ("basic auth in an HTTP URL", f"pip install --index-url https://ci:{r(ALNUM, 20)}@pypi.corp.example/simple",
         "basic auth"),
        ("password in a connection string", f'conn = "Server=db;Database=app;User Id=sa;Password={r(ALNUM, 14)};"',
         "password"),
        ("hard-coded password", f'db_password = "{r(ALNUM, 14)}"', "password"),
        ("Basic authorization header", "headers = {'Authorization': 'Basic "
                                       f"{base64.b64encode(('ci:' + r(ALNUM, 20)).encode()).decode()}'}}", "header"),
        ("Bearer authorization header", f"curl -H 'Authorization: Bearer {r(URLSAFE, 40)}' https://api.example.com",
         "header"),
        ("Discord bot token", f'client.run("{rng.choice("MNO")}{r(URLSAFE, 23)}.{r(URLSAFE, 6)}.{r(URLSAFE, 27)}")',
         "Discord"),
        ("Discord webhook", f'DISCORD_HOOK = "https://discord.com/api/webhooks/{r(DIG, 18)}/{r(URLSAFE, 68)}"',
         "Discord"),
        ("Telegram bot token", f'bot = telebot.TeleBot("{r(DIG, 10)}:{r(URLSAFE, 35)}")', "Telegram"),
        ("OpenAI legacy key", f'openai.api_key = "sk-{r(ALNUM, 20)}{"T3Blbk" + "FJ"}{r(ALNUM, 20)}"', "OpenAI"),
        ("OpenAI project key", f"OPENAI_API_KEY=sk-proj-{r(URLSAFE, 156)}", "OpenAI"),
        ("Anthropic API key", f'client = Anthropic(api_key="sk-ant-api03-{r(URLSAFE, 93)}AA")', "Anthropic"),
        ("Square OAuth secret", f'SQUARE_SECRET = "sq0csp-{r(URLSAFE, 43)}"', "Square"),
        ("Square access token", f'SQUARE_TOKEN = "EAAA{r(URLSAFE, 60)}"', "Square"),
        ("Shopify access token", f'session.token = "shpat_{r(HEX, 32)}"', "Shopify"),
        ("Shopify shared secret", f"SHOPIFY_SECRET=shpss_{r(HEX, 32)}", "Shopify"),
        ("Datadog API key", f"DD_API_KEY={r(HEX, 32)}", "Datadog"),
        ("Datadog application key", f'datadog_app_key = "{r(HEX, 40)}"', "Datadog"),
        ("Hugging Face token", f'login(token="hf_{r(UP + LOW, 34)}")', "Hugging Face"),
        ("DigitalOcean token", f"DIGITALOCEAN_TOKEN=dop_v1_{r(HEX, 64)}", "DigitalOcean"),
        ("HashiCorp Vault token", f'VAULT_TOKEN = "hvs.{r(URLSAFE, 90)}"', "Vault"),
        ("Terraform Cloud token", f'token = "{r(ALNUM, 14)}.atlasv1.{r(ALNUM, 67)}"', "Terraform"),
        ("Doppler token", f"DOPPLER_TOKEN=dp.pt.{r(ALNUM, 43)}", "Doppler"),
        ("Linear API key", f'LINEAR_KEY = "lin_api_{r(ALNUM, 40)}"', "Linear"),
        ("Postman API key", f'"x-api-key": "PMAK-{r(HEX, 24)}-{r(HEX, 34)}"', "Postman"),
        ("Databricks token", f"DATABRICKS_TOKEN=dapi{r(HEX, 32)}", "Databricks"),
        ("Docker Hub token", f"echo dckr_pat_{r(URLSAFE, 27)} | docker login -u ci --password-stdin", "Docker"),
        ("Grafana service-account token", f'GRAFANA_TOKEN = "glsa_{r(ALNUM, 32)}_{r(HEX, 8)}"', "Grafana"),
        ("New Relic user key", f"NEW_RELIC_API_KEY=NRAK-{r(UP + DIG, 27)}", "New Relic"),
        ("Sentry user token", f'SENTRY_AUTH_TOKEN = "sntryu_{r(HEX, 64)}"', "Sentry"),
        ("Supabase token", f"SUPABASE_ACCESS_TOKEN=sbp_{r(HEX, 40)}", "Supabase"),
        ("Pulumi token", f"PULUMI_ACCESS_TOKEN=pul-{r(HEX, 40)}", "Pulumi"),
        ("age secret key", f"AGE-SECRET-KEY-1{r(UP + DIG, 58)}", "age"),
        ("Alibaba Cloud access key", f'access_key_id = "LTAI{r(ALNUM, 20)}"', "Alibaba"),
        ("Tencent Cloud secret id", f'SecretId = "AKID{r(ALNUM, 32)}"', "Tencent"),
        ("Mailgun API key", f'auth=("api", "key-{r(HEX, 32)}")', "Mailgun"),
        ("Okta API token", f"OKTA_API_TOKEN=00{r(URLSAFE, 40)}", "Okta"),
        ("Notion token", f'notion = Client(auth="secret_{r(ALNUM, 43)}")', "Notion"),
        ("Figma token", f'FIGMA_TOKEN = "figd_{r(URLSAFE, 40)}"', "Figma"),
        ("Airtable token", f'AIRTABLE_PAT = "pat{r(ALNUM, 14)}.{r(HEX, 64)}"', "Airtable"),
        ("Atlassian API token", f'JIRA_TOKEN = "ATATT3{r(URLSAFE, 186)}"', "Atlassian"),
        ("Cloudflare API token", f"CLOUDFLARE_API_TOKEN={r(URLSAFE, 40)}", "Cloudflare"),
        ("Braintree access token", f'gateway = BraintreeGateway(access_token="access_token$production${r(LOW + DIG, 16)}'
                                   f'${r(HEX, 32)}")', "Braintree"),
        ("Shippo token", f'shippo.config.api_key = "shippo_live_{r(HEX, 40)}"', "Shippo"),
        ("Flutterwave secret key", f"FLW_SECRET_KEY=FLWSECK-{r(HEX, 32)}-X", "Flutterwave"),
        ("Razorpay key", f'client = razorpay.Client(auth=("rzp_live_{r(ALNUM, 14)}", secret))', "Razorpay"),
        ("Dropbox token", f'dbx = dropbox.Dropbox("sl.{r(URLSAFE, 136)}")', "Dropbox"),
        ("Mapbox secret token", f'MAPBOX_TOKEN = "sk.eyJ{r(URLSAFE, 60)}.{r(URLSAFE, 22)}"', "Mapbox"),
        ("Facebook access token", f'graph = GraphAPI(access_token="EAAB{r(ALNUM, 160)}")', "Facebook"),
        ("Artifactory API key", f'ARTIFACTORY_KEY = "AKC{r(ALNUM, 70)}"', "Artifactory"),
        ("IBM Cloud IAM key", f'ibm_cloud_iam_api_key = "{r(URLSAFE, 44)}"', "IBM"),
        ("high-entropy base64 string", f'BLOB = "{r(B64, 48)}"', "high-entropy"),
        ("high-entropy hex string", f"signature_seed = '{r(HEX, 64)}'", "high-entropy"),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_format_in_the_corpus_is_found_with_its_line(seed):
    cases = corpus(random.Random(seed))
    assert len({name for name, _, _ in cases}) == len(cases) >= 50
    missed = []
    for name, code, word in cases:
        lines = ["import os", "", "def configure():"]  # the secret sits below ordinary code
        text = "\n".join(lines + code.splitlines() + ["    return None", ""])
        found = find_secrets(text, filename="settings.py")
        first = len(lines) + 1
        if not found or not any(word.lower() in s.kind.lower() for s in found) or found[0].line < first:
            missed.append(f"{name}: {found} for {code[:80]!r}")
    assert not missed, f"{len(missed)} of {len(cases)} formats missed:\n" + "\n".join(missed)


def test_the_line_is_the_one_holding_the_secret():
    rng = random.Random(7)
    key = "AKIA" + "".join(rng.choice(UP + DIG) for _ in range(16))
    text = "x = 1\n\n\ny = 2\nKEY = '" + key + "'\nz = 3\n"
    assert find_secrets(text) == [Secret(line=5, kind="AWS access key")]


def test_check_text_names_the_file_the_line_and_the_kind():
    token = "ghp_" + rand(3, ALNUM, 36)
    with pytest.raises(InvalidInput) as raised:
        check_text(f"# notes\ntoken = '{token}'\n", ".cursor/rules/scms.mdc", field="targets")
    message = str(raised.value)
    assert message.startswith(".cursor/rules/scms.mdc:2: looks like a GitHub token")
    assert "git" in message and raised.value.field == "targets"
    check_text("def f():\n    return 1\n", "AGENTS.md")  # nothing to say: no error


def test_the_allowlist_pragma_of_detect_secrets_is_honoured():
    token = "ghp_" + rand(4, ALNUM, 36)
    assert find_secrets(f"token = '{token}'  # pragma: allowlist secret\n") == []


ORDINARY = [
    'digest = hashlib.sha256(data).hexdigest()',
    'request_id = "3f2b6c1e-8d4a-4b7e-9c2f-1a5d6e7f8a9b"',
    'password = os.environ["DB_PASSWORD"]',
    'token = settings.get("api_token")',
    'API_KEY = "${API_KEY}"',
    'secret = "<your-secret-here>"',
    'url = "https://docs.python.org/3/library/secrets.html?highlight=token#module-secrets"',
    '_b32alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"',
    'characters = "abcdefghijklmnopqrstuvwxyz0123456789_"',
    'headers = {"Authorization": f"Bearer {token}"}',
    "password: str = ''",
    'LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"',
    'PWD_STATE = "yes"',
    "short = 'a1b2c3d4e5'",
    'sock.connect(("127.0.0.1", 8080))',
    'commit = "main"',
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_code_is_not_flagged(line):
    assert find_secrets(line + "\n", filename="module.py") == []


@pytest.mark.parametrize("module", ["shutil.py", "textwrap.py", "json/decoder.py", "functools.py", "tarfile.py",
                                    "http/cookiejar.py", "subprocess.py", "argparse.py", "logging/__init__.py",
                                    "email/utils.py", "urllib/parse.py", "ssl.py", "smtplib.py", "tempfile.py"])
def test_standard_library_modules_are_not_flagged(module):
    path = STDLIB / module
    assert find_secrets(path.read_text(encoding="utf-8"), filename=path.name) == []


def test_what_is_still_flagged_in_ordinary_code_is_known():
    """Honest about the limits: a random-looking hex digest in a fixture is reported like a hex key."""
    fixture = "EXPECTED = '" + rand(5, HEX, 64) + "'\n"
    assert [s.kind for s in find_secrets(fixture)] == ["high-entropy string"]


# promotion: nothing reaches the validated tier's git-tracked files


def _settings_file(memory: Memory) -> tuple[str, str]:
    key = "AKIA" + rand(11, UP + DIG, 16)
    source = memory.root / "src" / "cloud.py"
    source.write_text("import boto3\n\n\ndef client():\n"
                      f'    return boto3.client("s3", aws_access_key_id="{key}")\n', encoding="utf-8")
    return "cloud.py", key


def test_promote_refuses_a_pattern_holding_a_secret_and_writes_nothing(workspace, clock):
    memory = Memory.open(workspace, clock=clock)
    try:
        name, key = _settings_file(memory)
        pattern = remember_lines(memory, name, 4, 5, title="An S3 client")
        memory.accept(pattern.id)
        memory.accept(pattern.id)
        with pytest.raises(InvalidInput) as raised:
            memory.promote(pattern.id)
        message = str(raised.value)
        would_be = files.render(pattern.model_copy(update={"promoted": clock(), "tier": Tier.VALIDATED}))
        line = next(i for i, text in enumerate(would_be.splitlines(), start=1) if key in text)
        assert message.startswith(f".scms/patterns/{files.file_name(pattern)}:{line}: looks like an AWS access key")
        assert raised.value.field == "patternId"
        after = memory.get(pattern.id)
        assert after.tier is Tier.SESSION and after.promoted is None and after.accepted_uses == 2
        assert list(memory.patterns_dir.glob("*.md")) == []
    finally:
        memory.close()


def test_a_secret_in_the_title_or_the_note_is_refused_too(workspace, clock):
    memory = Memory.open(workspace, clock=clock)
    try:
        token = "xoxb-" + rand(13, DIG, 12) + "-" + \
            rand(14, DIG, 13) + "-" + \
            rand(15, LOW + DIG, 24)
        first, last = COPYFILEOBJ_LINES
        titled = remember_lines(memory, "shutil.py", first, last, title=f"post to {token}")
        noted = remember_lines(memory, "shutil.py", first, last, note=f"Ask ops.\nThe bot uses {token}.")
        for pattern, kind in ((titled, "Slack token"), (noted, "Slack token")):
            with pytest.raises(InvalidInput, match=f"looks like a {kind}"):
                memory.promote(pattern.id)
            assert memory.get(pattern.id).tier is Tier.SESSION
        assert list(memory.patterns_dir.glob("*.md")) == []
    finally:
        memory.close()


def test_promote_eligible_promotes_the_clean_candidate_and_holds_the_secret_one(workspace, clock):
    from scms.store import lifecycle

    memory = Memory.open(workspace, clock=clock)
    try:
        name, _ = _settings_file(memory)
        secret = remember_lines(memory, name, 4, 5, title="An S3 client")
        first, last = COPYFILEOBJ_LINES
        clean = remember_lines(memory, "shutil.py", first, last)
        for pattern in (secret, clean, secret, clean):
            memory.accept(pattern.id)
        promoted = memory.promote_eligible()
        assert [p.id for p in promoted] == [clean.id]
        assert memory.get(secret.id).tier is Tier.SESSION
        assert memory.get(clean.id).tier is Tier.VALIDATED
        assert [p.name for p in memory.patterns_dir.glob("*.md")] == [files.file_name(clean)]
        # the held one, with its reason, for a front end that wants to say why
        again, held = lifecycle.promote_eligible_held(memory._ws)
        assert again == [] and [(p.id, "AWS access key" in why) for p, why in held] == [(secret.id, True)]
    finally:
        memory.close()
