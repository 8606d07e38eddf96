"""Faults injected into real processes: crashes, full disks, damaged stores, two agents at once."""
