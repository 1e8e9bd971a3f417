"""The form as data: the line-item catalog (``catalog``), the arithmetic identities (``rules``) and where
their reviewed CSV files live (``files``)."""
