"""One translator per wire dialect, to and from the neutral form in `gateway/ir.py`."""
