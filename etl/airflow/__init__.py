"""Airflow glue: the business-day timetable (registered as a plugin) and settings from connections.

Nothing here runs at import time beyond class definitions, so DAG files that import it parse fast.
"""
