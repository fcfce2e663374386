"""Speed and memory of the service against reference tools measured in the same run."""
