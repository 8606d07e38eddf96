"""Budgets: spending limits per agent, project or everything, per local day or month.

`definition.py` says what a budget is (and checks `[[budgets]]`), `spend.py` reads a period's
spend back from the recorder's rows, `ledger.py` keeps the running totals and refuses calls
over a hard limit, `service.py` is what the desk reads and edits. Import from the modules:
the settings import `definition` alone, without the engine behind the others.
"""
