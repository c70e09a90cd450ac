"""Cash in now for Django marketplaces, financed by Defacto's embedded-lending API."""

__version__ = "0.1.0"
