"""How many items the package asks Defacto for per page of a list (Defacto's largest)."""

DEFACTO_PAGE_SIZE = 100
