"""The lake: Parquet partitions of the long table and of the filings (``partitions``), the raw zone and
quarantine (``raw``), and rebuilding the warehouse from all of it (``rebuild``)."""
