-- Where each filing and value came from, beyond its file: the layout it was published in and, for a
-- PDF, its page count and the page each value is printed on (so an analyst can open the PDF there).
-- Added in place to warehouses made before these columns; rows loaded before them keep NULL.

ALTER TABLE filings ADD COLUMN IF NOT EXISTS source_format VARCHAR(8);   -- text | html | pdf
ALTER TABLE filings ADD COLUMN IF NOT EXISTS page_count INTEGER;         -- pages of a PDF; NULL otherwise
ALTER TABLE seg_values ADD COLUMN IF NOT EXISTS page INTEGER;            -- the PDF page; NULL for text and HTML
