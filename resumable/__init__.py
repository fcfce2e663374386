"""Resumable uploads with the tus 1.0 protocol, handed to an archive once finished."""
