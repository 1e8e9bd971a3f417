"""The analyst layer: views in ``sql/views`` (excess trends, month-end summary, industry totals and
concentration, fund locations, a wide statement table), the terminal trend table and the HTML report."""
