"""nginx configuration: the reader (any form of config in, a directive tree out) and the effective-settings model.

Typical use::

    config = read_config("/etc/nginx/nginx.conf")          # or read_config("-", text=pasted)
    model = effective_settings(config, nginx="1.22.1")     # or pasted `nginx -V` output
    for server in model.verifying_servers:
        server.tls.ssl_verify_depth.value, server.tls.ssl_verify_depth.origin

Importing this package is cheap: crossplane is imported only when a configuration is read.
"""

from __future__ import annotations

from mtls_doctor.nginx.build import DEFAULT_BUILD, NginxBuild, TlsProtocol, parse_nginx_build
from mtls_doctor.nginx.effective import effective_settings
from mtls_doctor.nginx.model import (
    Context,
    EffectiveConfig,
    ErrorLog,
    ErrorPage,
    Listen,
    Location,
    LocationModifier,
    LogLevel,
    SecurityLevel,
    ServerBlock,
    ServerTLS,
    Setting,
    UpstreamModule,
    UpstreamPass,
    UpstreamTLS,
    VariableUse,
)
from mtls_doctor.nginx.names import ServerName, ServerNameKind
from mtls_doctor.nginx.paths import ConfigPath, PathKind
from mtls_doctor.nginx.reader import read_config
from mtls_doctor.nginx.source import DEFAULT_MAX_BYTES
from mtls_doctor.nginx.tree import ConfigFile, ConfigForm, Directive, NginxConfig, UnreadInclude
from mtls_doctor.vocabulary import OcspMode

__all__ = [
    "DEFAULT_BUILD",
    "DEFAULT_MAX_BYTES",
    "ConfigFile",
    "ConfigForm",
    "ConfigPath",
    "Context",
    "Directive",
    "EffectiveConfig",
    "ErrorLog",
    "ErrorPage",
    "Listen",
    "Location",
    "LocationModifier",
    "LogLevel",
    "NginxBuild",
    "NginxConfig",
    "OcspMode",
    "PathKind",
    "SecurityLevel",
    "ServerBlock",
    "ServerName",
    "ServerNameKind",
    "ServerTLS",
    "Setting",
    "TlsProtocol",
    "UnreadInclude",
    "UpstreamModule",
    "UpstreamPass",
    "UpstreamTLS",
    "VariableUse",
    "effective_settings",
    "parse_nginx_build",
    "read_config",
]
