"""All of mapsvc's settings, in one place.

Loading goes in layers: the defaults below → ``<instance>/mapsvc.toml`` → ``MAPSVC_*``
environment variables → the mapping passed to :func:`load_config` (tests). Secrets come
from the environment only. No other module reads ``os.environ`` or a config file; domain
functions receive values as arguments.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapsvc.core.errors import InvalidConfig

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _data_dir(name: str) -> Path:
    """Folder shipped beside the package (wheel) or at the project root (checkout)."""
    bundled = PACKAGE_DIR / "_data" / name
    return bundled if bundled.is_dir() else PACKAGE_DIR.parent / name


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _to_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _to_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "INSTANCE_PATH",
        "instance",
        "Folder for the SQLite store, road network, caches and the generated secret key.",
    ),
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the store; empty = SQLite file <INSTANCE_PATH>/mapsvc.sqlite. PostgreSQL: postgresql+psycopg://user@host/db.",
    ),
    Setting(
        "SECRET_KEY",
        "",
        "Signs sessions, CSRF and survey tokens. Environment only; if empty a random key is generated once into <INSTANCE_PATH>/secret_key.",
        secret=True,
    ),
    Setting(
        "LAYERS_DIR",
        str(_data_dir("layers")),
        "Folder with taxonomy.yaml and the map layer definitions (layers/*.yaml).",
    ),
    Setting(
        "STATIC_DIR", str(_data_dir("static")), "Folder with vendored Leaflet, plugins, CSS and JS."
    ),
    Setting(
        "DEFAULT_LANGUAGE",
        "ja",
        "Language of the views when the user has not chosen one (ja or en).",
    ),
    Setting(
        "BASEMAP_URL",
        "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
        "Tile URL template of the base map. Data layers still show when tiles cannot load.",
    ),
    Setting(
        "BASEMAP_ATTRIBUTION",
        '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>',
        "Attribution shown for the base map.",
    ),
    Setting(
        "GEOCODERS",
        "cache,gazetteer,gsi",
        "Geocoder chain used by `mapsvc geocode` and address search, tried in order (cache, gazetteer, gsi).",
        _to_list,
    ),
    Setting(
        "GEOCODERS_ON_IMPORT",
        "cache,gazetteer",
        "Geocoder chain used while importing (offline ones only by default; online geocoding is `mapsvc geocode`).",
        _to_list,
    ),
    Setting(
        "GAZETTEER_FILES",
        "",
        "Comma-separated town-level address point files (位置参照情報 CSV or japanese-addresses JSON) for the offline geocoder.",
        _to_list,
    ),
    Setting(
        "GAZETTEER_PREFIX",
        "",
        "Prefecture and city prefix of the gazetteer files' towns, e.g. 香川県高松市 (used when the file does not name them).",
    ),
    Setting(
        "GSI_GEOCODER_URL",
        "https://msearch.gsi.go.jp/address-search/AddressSearch",
        "Endpoint of the GSI (国土地理院) address search.",
    ),
    Setting("GEOCODER_TIMEOUT", 5.0, "Seconds to wait for an online geocoder.", float),
    Setting(
        "GEOCODE_SEARCH_ONLINE",
        False,
        "Let a patient's or resident's address search (finder, public map) fall back to the online geocoders in GEOCODERS (gsi). This SENDS THE TYPED ADDRESS TO A THIRD PARTY (the geocoder's operator sees it); off by default, so only the store's cache and the offline gazetteer are used.",
        _to_bool,
    ),
    Setting(
        "GEOCODE_SEARCH_BUDGET",
        2.0,
        "Seconds an address search may spend on online geocoders in total (one try, no retries), when GEOCODE_SEARCH_ONLINE is on.",
        float,
    ),
    Setting(
        "NETWORK_SPEEDS",
        "{}",
        'JSON overriding the default km/h per OSM highway class used where maxspeed is missing (mapsvc.geo.network.DEFAULT_SPEEDS_KPH), e.g. {"residential": 25}.',
        _to_json,
    ),
    Setting(
        "SERVICE_AREA_OVERRIDES",
        "{}",
        'JSON overriding per-type service-area defaults, e.g. {"clinic": {"radius_km": 16, "travel_minutes": 20}}.',
        _to_json,
    ),
    Setting(
        "RECONFIRM_MONTHS",
        12,
        "A record is due for re-confirmation this many months after it was last confirmed.",
        int,
    ),
    Setting(
        "UNCONFIRMED_MONTHS",
        24,
        "A record not confirmed for this many months is marked unconfirmed in every view.",
        int,
    ),
    Setting(
        "STALE_MONTHS",
        12,
        "The editor dashboard lists records not confirmed for more than this many months.",
        int,
    ),
    Setting("SURVEY_TOKEN_DAYS", 60, "Days a provider's survey link stays valid.", int),
    Setting(
        "LOGIN_ATTEMPTS",
        5,
        "Failed logins allowed per user name and address within LOGIN_WINDOW_SECONDS.",
        int,
    ),
    Setting("LOGIN_WINDOW_SECONDS", 300, "Window of the login rate limit.", int),
    Setting(
        "LOGIN_ADDRESS_ATTEMPTS",
        30,
        "Logins allowed from one source address (any user name) within LOGIN_WINDOW_SECONDS.",
        int,
    ),
    Setting(
        "LOGIN_GLOBAL_ATTEMPTS",
        600,
        "Logins allowed from all addresses together within LOGIN_WINDOW_SECONDS.",
        int,
    ),
    Setting(
        "LOGIN_USER_DELAY_MAX_SECONDS",
        60,
        "After LOGIN_ATTEMPTS failures for a user name (from any address), tries wait 1, 2, 4 … seconds, at most this long (a delay, never a lockout).",
        int,
    ),
    Setting(
        "LOGIN_MAX_CONCURRENT_HASHES",
        4,
        "Password checks one worker process runs at once; a login beyond that gets a fast 429.",
        int,
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (ProxyFix); 1 behind the recommended TLS proxy, 0 when clients connect directly.",
        int,
    ),
    Setting(
        "SESSION_IDLE_SECONDS",
        1800,
        "A login session ends after this many seconds without a request.",
        int,
    ),
    Setting(
        "SESSION_MAX_SECONDS",
        43200,
        "A login session ends this many seconds after the login, however active.",
        int,
    ),
    Setting(
        "ITEMS_DEFAULT_LIMIT",
        1000,
        "Features returned by the items endpoint when no limit is asked.",
        int,
    ),
    Setting("ITEMS_MAX_LIMIT", 10000, "Largest limit the items endpoint accepts.", int),
    Setting(
        "INDEX_REFRESH_SECONDS",
        2.0,
        "The in-process provider index checks the store for changes at most this often (0 = every request).",
        float,
    ),
    Setting(
        "MAP_ITEMS_LIMIT",
        2000,
        "Providers the maps draw one by one per layer; above this the visible area is shown as counts per cell.",
        int,
    ),
    Setting(
        "FINDER_MAX_RESULTS",
        200,
        "Most providers the professional finder lists for one search.",
        int,
    ),
    Setting(
        "FINDER_EXPLAIN_BELOW",
        3,
        "When a finder search lists fewer providers than this, it shows what each chosen condition removes and what widening it would give.",
        int,
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        False,
        "Send session cookies over HTTPS only (set true behind TLS).",
        _to_bool,
    ),
    Setting(
        "DASK_SCHEDULER",
        "",
        "Address of a dask.distributed scheduler for batch coverage; empty = local cluster.",
        str,
    ),
    Setting(
        "SERVICE_AREA_ACCESS_M",
        300.0,
        "Travel-time areas: a place is inside when within this many metres (straight line) of a road reachable in time.",
        float,
    ),
    Setting(
        "SERVICE_AREA_SNAP_M",
        1000.0,
        "Travel-time areas: a provider farther than this from the nearest network node is off the network.",
        float,
    ),
    Setting(
        "PLANNER_POPULATION",
        "",
        "Population dataset the planner uses by default; empty = the first loaded dataset.",
    ),
    Setting(
        "PLANNER_COVERAGE_CAPABILITIES",
        "home_visit_medical,on_call_visit,home_pharmacy_visit,terminal_care,night_response",
        "Capabilities whose covered share of the 75+ population the indicators report.",
        _to_list,
    ),
    Setting("DEMO_SEED", 20260401, "Seed of the deterministic demo municipality generator.", int),
)

_BY_NAME = {s.name: s for s in SETTINGS}
# Flask's own settings that tests may pass to create_app; anything else must be declared above.
FLASK_KEYS = {
    "TESTING",
    "DEBUG",
    "SERVER_NAME",
    "WTF_CSRF_ENABLED",
    "PREFERRED_URL_SCHEME",
    "LOGIN_DISABLED",
}


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the configuration mapping.

    Parameters
    ----------
    overrides
        Highest-priority values (tests pass these to ``create_app``).
    environ
        Environment to read ``MAPSVC_*`` from; defaults to ``os.environ``.

    Returns
    -------
    dict
        Every setting by name, parsed, plus derived ``DATABASE_URL`` and ``SECRET_KEY``.

    Raises
    ------
    InvalidConfig
        An unknown ``MAPSVC_`` key or a value that does not parse.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    raw: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    instance = Path(
        str(
            overrides.get("INSTANCE_PATH")
            or environ.get("MAPSVC_INSTANCE_PATH")
            or raw["INSTANCE_PATH"]
        )
    )
    file_values = _read_instance_file(instance / "mapsvc.toml")
    env_values = {
        k[len("MAPSVC_") :]: v
        for k, v in environ.items()
        if k.startswith("MAPSVC_") and not k.startswith("MAPSVC_TEST_")
    }
    for source_name, values in (
        ("instance file", file_values),
        ("environment", env_values),
        ("overrides", overrides),
    ):
        for key, value in values.items():
            if key not in _BY_NAME:
                if source_name == "overrides" and key in FLASK_KEYS:
                    raw[key] = value
                    continue
                raise InvalidConfig(
                    f"unknown setting {key!r} in {source_name}; known: {', '.join(sorted(_BY_NAME))}",
                    field=key,
                )
            if key == "SECRET_KEY" and source_name == "instance file":
                raise InvalidConfig(
                    "SECRET_KEY must come from the environment (MAPSVC_SECRET_KEY), not mapsvc.toml",
                    field=key,
                )
            raw[key] = value
    config: dict[str, Any] = {}
    for key, value in raw.items():
        setting = _BY_NAME.get(key)
        if setting is None:
            config[key] = value
            continue
        try:
            config[key] = setting.parse(value)
        except (TypeError, ValueError) as exc:
            raise InvalidConfig(f"setting {key} = {value!r}: {exc}", field=key) from exc
    instance_path = Path(config["INSTANCE_PATH"]).resolve()
    config["INSTANCE_PATH"] = str(instance_path)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'mapsvc.sqlite'}"
    return config


def ensure_secret_key(config: dict[str, Any]) -> str:
    """Return the secret key, generating and keeping one in the instance folder if unset."""
    if config.get("SECRET_KEY"):
        return str(config["SECRET_KEY"])
    path = Path(config["INSTANCE_PATH"]) / "secret_key"
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
    config["SECRET_KEY"] = key
    return key


def _read_instance_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidConfig(f"{path}: {exc}") from exc
    return {str(k).upper(): v for k, v in data.items()}


def describe_settings() -> list[dict[str, Any]]:
    """Settings with defaults and help, for the README and `mapsvc config`."""
    return [
        {"name": f"MAPSVC_{s.name}", "default": "" if s.secret else s.default, "help": s.help}
        for s in SETTINGS
    ]
