"""The CFTC's monthly "Financial Data for FCMs" file beside the daily filings: reading the spreadsheet as
published (``reader``, its columns known by header text through ``layout``) and loading it into
``cftc_fcm_monthly`` and the lake (``load``). The views ``cftc_reconciliation`` and ``cftc_coverage``
(``sql/views``) set its month-end figures against the daily filings."""
