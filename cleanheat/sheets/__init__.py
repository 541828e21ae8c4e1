"""Reading spreadsheets: cells to text and dates, header rows, whole sheets. Pure Python, no Django.

Below the ledger, the imports and procurement, which all read Excel files, and importing none of
them. (Not `cleanheat.formats`: that is Django's FORMAT_MODULE_PATH, the per-language date and
number formats.)
"""
