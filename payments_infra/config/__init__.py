"""The stack's settings: declared once (settings.py and each tier's *_settings.py), read and
validated once (stack_config.py).

Other modules import from here; the layout inside the package is its own business.
"""

from payments_infra.config.choices import (
    CertificateMode,
    CpuArchitecture,
    Environment,
    Ingress,
    LogArchive,
    LogDelivery,
    PriceClass,
)
from payments_infra.config.database_settings import DB_MIN_CAPACITY
from payments_infra.config.limits import AZ_COUNT, LOG_RETENTION_DAYS, REQUIRED_REGION
from payments_infra.config.service_settings import API_CPU, API_MEMORY
from payments_infra.config.settings import SETTINGS
from payments_infra.config.stack_config import (
    CertificateSettings,
    DatabaseSettings,
    FrontendSettings,
    ObservabilitySettings,
    ServiceSettings,
    StackConfig,
    load_stack_config,
)

DEFAULT_API_CPU = API_CPU.default
DEFAULT_API_MEMORY = API_MEMORY.default
DEFAULT_DB_MIN_CAPACITY = DB_MIN_CAPACITY.default

__all__ = [
    "AZ_COUNT",
    "DEFAULT_API_CPU",
    "DEFAULT_API_MEMORY",
    "DEFAULT_DB_MIN_CAPACITY",
    "LOG_RETENTION_DAYS",
    "REQUIRED_REGION",
    "SETTINGS",
    "CertificateMode",
    "CertificateSettings",
    "CpuArchitecture",
    "DatabaseSettings",
    "Environment",
    "FrontendSettings",
    "Ingress",
    "LogArchive",
    "LogDelivery",
    "ObservabilitySettings",
    "PriceClass",
    "ServiceSettings",
    "StackConfig",
    "load_stack_config",
]
