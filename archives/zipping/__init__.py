"""The compression engine: ZIP files written from local files, deflated on every core.

``pipeline`` reads and compresses members in parallel, ``compression`` decides what is
worth deflating and deflates in joinable blocks, ``writer`` lays out the ZIP format. It
imports nothing of archives' models or storage: ``archives.build`` hands it the files.
"""
