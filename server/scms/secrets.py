"""Secret scanning before SCMS writes anything git will see (a validated pattern's file, an export).

`find_secrets(text)` runs detect-secrets' own plugins line by line, as a library: every detector it ships
except the public-IP one (an address is not a credential), with its default entropy limits and its
default false-positive heuristics (sequential strings, UUIDs, `id = …` lines, templated values,
`$VAR`, indirect references such as `password = os.environ[...]`, strings with no letters or digits),
which SCMS applies to the two generic kinds (high-entropy strings, keyword "secrets") only: a value of a
named format (`ghp_…`, `xoxb-…`) is reported even inside a call such as `Gitlab(url, private_token=…)`,
which detect-secrets' indirect-reference heuristic would otherwise drop.
No settings file, no baseline, no network: the plugins are instantiated here and verification (which
would call the providers' APIs) is never run, and nothing is written.

detect-secrets 1.5 misses a number of common formats; `_EXTRA` adds a regex for each of them (the
formats are listed there): Google API keys, GitHub fine-grained tokens, Anthropic and new-style OpenAI
keys, Stripe test/webhook secrets, Shopify, Hugging Face, Doppler, Vault, Terraform Cloud, DigitalOcean,
Linear, Postman, Databricks, Sentry, Grafana, New Relic, Atlassian, Docker Hub, Supabase, Pulumi, age,
Alibaba, Tencent, Dropbox, Mailgun, Square access tokens, Azure AD client secrets and SAS signatures,
Okta, Notion, Figma, Airtable, Mapbox, Heroku, Datadog, Facebook, Twitter bearer tokens, GCP
service-account JSON, and a few more. A line carrying detect-secrets' own marker
`pragma: allowlist secret` is skipped, as detect-secrets itself does.

Two tunings of SCMS' own keep ordinary code from being blocked, for the generic kinds only (a named
format is always reported): a high-entropy string shorter than 20 characters or that is an alphabet
written out (`'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'`) is not reported, nor a keyword "secret" shorter than
6 characters (`'MODULE_PWD_STATE': 'yes'`). Hex digests in test fixtures are still reported: they cannot
be told from a hex key by their characters (see the rate in tests/test_secrets.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scms.errors import InvalidInput

__all__ = ["Secret", "find_secrets", "check_text"]


@dataclass(frozen=True)
class Secret:
    line: int  # 1-based line of the text
    kind: str  # human-readable: "AWS access key", "GitHub token", "private key", "high-entropy string", …


# detect-secrets' secret_type -> the words SCMS uses in its messages.
_KIND = {
    "AWS Access Key": "AWS access key",
    "Artifactory Credentials": "Artifactory credential",
    "Azure Storage Account access key": "Azure storage account key",
    "Base64 High Entropy String": "high-entropy string",
    "Hex High Entropy String": "high-entropy string",
    "Basic Auth Credentials": "password in a URL (basic auth)",
    "Cloudant Credentials": "Cloudant credential",
    "Discord Bot Token": "Discord bot token",
    "GitHub Token": "GitHub token",
    "GitLab Token": "GitLab token",
    "IBM Cloud IAM Key": "IBM Cloud IAM key",
    "IBM COS HMAC Credentials": "IBM COS HMAC credential",
    "JSON Web Token": "JSON web token",
    "Secret Keyword": "hard-coded password or secret",
    "Mailchimp Access Key": "Mailchimp API key",
    "NPM tokens": "npm token",
    "OpenAI Token": "OpenAI API key",
    "Private Key": "private key",
    "PyPI Token": "PyPI token",
    "SendGrid API Key": "SendGrid API key",
    "Slack Token": "Slack token",
    "SoftLayer Credentials": "SoftLayer credential",
    "Square OAuth Secret": "Square OAuth secret",
    "Stripe Access Key": "Stripe API key",
    "Telegram Bot Token": "Telegram bot token",
    "Twilio API Key": "Twilio API key",
}
_SKIPPED_PLUGINS = {"Public IP (ipv4)"}
_ALLOWLISTED = re.compile(r"pragma:\s*allowlist[ -]secret", re.IGNORECASE)
_B = r"(?<![A-Za-z0-9_])"   # not glued to a longer word before it
_E = r"(?![A-Za-z0-9_])"    # …nor after it

# Formats detect-secrets 1.5 does not know (or knows only partly); each one: (kind, regex).
_EXTRA: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(rx)) for kind, rx in [
    ("Google API key", _B + r"AIza[0-9A-Za-z_-]{35}" + _E),
    ("Google OAuth client secret", _B + r"GOCSPX-[0-9A-Za-z_-]{28}" + _E),
    ("GCP service-account key", r'"type"\s*:\s*"service_account"'),
    ("GitHub token", _B + r"github_pat_[0-9A-Za-z_]{82}" + _E),  # fine-grained
    ("Anthropic API key", _B + r"sk-ant-(?:api|admin)\d{2}-[0-9A-Za-z_-]{80,}"),
    ("OpenAI API key", _B + r"sk-(?:proj|svcacct|admin)-[0-9A-Za-z_-]{40,}"),
    ("Stripe API key", _B + r"(?:sk|rk)_(?:test|live)_[0-9A-Za-z]{24,}" + _E),
    ("Stripe webhook secret", _B + r"whsec_[0-9A-Za-z]{32,}" + _E),
    ("Shopify token", _B + r"shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}" + _E),
    ("Hugging Face token", _B + r"hf_[A-Za-z]{34}" + _E),
    ("Doppler token", _B + r"dp\.(?:pt|st|sa|ct|scim|audit)\.[0-9A-Za-z]{40,44}" + _E),
    ("HashiCorp Vault token", _B + r"hv[sbr]\.[0-9A-Za-z_-]{24,}" + _E),
    ("Terraform Cloud token", _B + r"[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_=-]{60,70}" + _E),
    ("DigitalOcean token", _B + r"do[opr]_v1_[0-9a-f]{64}" + _E),
    ("Linear API key", _B + r"lin_api_[0-9A-Za-z]{40}" + _E),
    ("Postman API key", _B + r"PMAK-[0-9a-f]{24}-[0-9a-f]{34}" + _E),
    ("Databricks token", _B + r"dapi[0-9a-f]{32}(?:-\d)?" + _E),
    ("Sentry token", _B + r"(?:sntrys_eyJ[0-9A-Za-z_=+/-]{40,}|sntryu_[0-9a-f]{64})"),
    ("Grafana token", _B + r"(?:glc_[0-9A-Za-z+/]{32,400}={0,2}|glsa_[0-9A-Za-z]{32}_[0-9a-fA-F]{8})"),
    ("New Relic key", _B + r"NR(?:AK|II|JS)-[0-9A-Za-z]{19,27}" + _E),
    ("Atlassian API token", _B + r"ATATT3[0-9A-Za-z_=-]{180,200}"),
    ("Docker Hub token", _B + r"dckr_pat_[0-9A-Za-z_-]{27}" + _E),
    ("Supabase token", _B + r"sbp_[0-9a-f]{40}" + _E),
    ("Pulumi token", _B + r"pul-[0-9a-f]{40}" + _E),
    ("npm token", _B + r"npm_[0-9A-Za-z]{36}" + _E),
    ("PyPI token", _B + r"pypi-AgE[0-9A-Za-z_-]{50,}"),
    ("age secret key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    ("Alibaba Cloud access key", _B + r"LTAI[0-9A-Za-z]{20}" + _E),
    ("Tencent Cloud secret id", _B + r"AKID[0-9A-Za-z]{32}" + _E),
    ("Dropbox token", _B + r"sl\.[0-9A-Za-z_-]{130,}"),
    ("Mailgun API key", _B + r"key-[0-9a-f]{32}" + _E),
    ("Square access token", _B + r"(?:EAAA[0-9A-Za-z_-]{60}|sq0atp-[0-9A-Za-z_-]{22})" + _E),
    ("Azure AD client secret", _B + r"[0-9A-Za-z_~.-]{3}\dQ~[0-9A-Za-z_~.-]{31,34}" + _E),
    ("Azure SAS token", r"[?&]sig=[0-9A-Za-z%+/]{40,}(?:%3D|=)*"),
    ("Okta API token", r"(?i:okta)[\w.-]{0,20}\W{1,4}00[0-9A-Za-z_-]{40}" + _E),
    ("Notion token", _B + r"(?:secret|ntn)_[0-9A-Za-z]{43,46}" + _E),
    ("Figma token", _B + r"figd_[0-9A-Za-z_-]{40}" + _E),
    ("Airtable token", _B + r"pat[0-9A-Za-z]{14}\.[0-9a-f]{64}" + _E),
    ("Mapbox secret token", _B + r"sk\.eyJ[0-9A-Za-z_-]{50,}\.[0-9A-Za-z_-]{20,}"),
    ("Facebook access token", _B + r"EAA[BC][0-9A-Za-z]{100,}" + _E),
    ("Twitter bearer token", r"AAAAAAAAAAAAAAAAAAAAA[0-9A-Za-z%]{40,}"),
    ("Slack token", _B + r"xapp-\d-[0-9A-Z]+-\d+-[0-9a-f]{32,}"),
    ("Slack webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[0-9A-Za-z_/]{20,}"),
    ("Discord webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[0-9A-Za-z_-]{60,}"),
    ("Heroku API key",
     r"(?i:heroku)[\w.-]{0,20}\W{1,4}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}" + _E),
    ("Datadog key", r"(?i:datadog|\bdd)[\w.-]{0,20}\W{1,4}[0-9a-f]{32}(?:[0-9a-f]{8})?" + _E),
    ("Twilio auth token", r"(?i:twilio)[\w.-]{0,20}\W{1,4}[0-9a-f]{32}" + _E),
    ("Cloudflare API token", r"(?i:cloudflare|\bcf)[\w.-]{0,20}\W{1,4}[0-9A-Za-z_-]{40}" + _E),
    ("Braintree access token", r"access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32}"),
    ("Shippo token", _B + r"shippo_(?:live|test)_[0-9a-f]{40}" + _E),
    ("Flutterwave secret key", _B + r"FLWSECK(?:_TEST)?-[0-9a-f]{32}-X"),
    ("Razorpay key", _B + r"rzp_live_[0-9A-Za-z]{14}" + _E),
    ("credential in an Authorization header",
     r"(?i:authorization)\W{1,4}(?:Basic|Bearer|Token)\s+[0-9A-Za-z+/_.=-]{20,}"),
    ("private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ("password in a connection string", r"(?i:password|pwd)=[^;\s'\"]{6,};"),
]]


@lru_cache(maxsize=1)
def _plugins() -> tuple[Any, ...]:
    """One instance of every detect-secrets plugin (its default limits), built once and never reconfigured."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return tuple(cls() for kind, cls in sorted(get_mapping_from_secret_type_to_class().items())
                 if kind not in _SKIPPED_PLUGINS)


def _filtered(secret: str, line: str, plugin: Any) -> bool:
    """detect-secrets' default heuristics against false positives (those that need no extra model)."""
    from detect_secrets.filters import heuristic as h

    return (h.is_sequential_string(secret) or h.is_potential_uuid(secret)
            or h.is_likely_id_string(secret, line, plugin) or h.is_templated_secret(secret)
            or h.is_prefixed_with_dollar_sign(secret) or h.is_indirect_reference(line)
            or h.is_not_alphanumeric_string(secret))


_GENERIC = ("high-entropy string", "hard-coded password or secret")
_MIN_ENTROPY_LENGTH = 20  # a generic high-entropy string shorter than this is not reported
_MIN_KEYWORD_VALUE = 6    # `pwd: 'yes'`, `password = 'xxx'`: too short to be a real secret


def _ordinary(kind: str, secret: str) -> bool:
    """SCMS' own additions to those heuristics, for the two generic kinds only (see the module doc)."""
    if kind == "hard-coded password or secret":
        return len(secret) < _MIN_KEYWORD_VALUE
    if kind != "high-entropy string":
        return False
    if len(secret) < _MIN_ENTROPY_LENGTH:
        return True
    # An alphabet written out ('ABC…XYZ234567', 'abc…xyz0123456789_', 'cdehijklmop…'): mostly ascending
    # neighbours, which random characters almost never are.
    steps = sum(0 < ord(b) - ord(a) <= 2 for a, b in zip(secret, secret[1:]))
    return steps >= 0.6 * (len(secret) - 1)


def find_secrets(text: str, filename: str = "text") -> list[Secret]:
    """The secrets in `text`, one per (line, kind), in line order. `filename` only tells detect-secrets'
    keyword detector which assignment syntax to expect (by its extension); nothing is read or written."""
    found: list[Secret] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or _ALLOWLISTED.search(line):
            continue
        kinds: list[str] = []
        for kind, regex in _EXTRA:
            if regex.search(line) and kind not in kinds:
                kinds.append(kind)
        for plugin in _plugins():
            for potential in plugin.analyze_line(filename=filename, line=line, line_number=number):
                kind = _KIND.get(potential.type, potential.type)
                if kind in _GENERIC and potential.secret_value is not None and (
                        _filtered(potential.secret_value, line, plugin) or _ordinary(kind, potential.secret_value)):
                    continue
                if kind not in kinds:
                    kinds.append(kind)
        # A named format says more than "high-entropy string" or "password": keep only the most specific.
        specific = [k for k in kinds if k not in _GENERIC]
        for kind in specific or kinds[:1]:
            found.append(Secret(line=number, kind=kind))
    return found


def check_text(text: str, where: str, field: str | None = None) -> None:
    """Raise InvalidInput naming `where`, the line and the kind of the first secret in `text`."""
    hits = find_secrets(text, filename=where)
    if hits:
        first = hits[0]
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        raise InvalidInput(
            f"{where}:{first.line}: looks like {_article(first.kind)} {first.kind}{more}; SCMS does not write secrets where git will "
            "see them. Remove it from the pattern (or mark the line `pragma: allowlist secret` if it is not "
            "a real secret) and try again", field=field)


def _article(kind: str) -> str:
    return "an" if kind[:1].lower() in "aeio" else "a"
