"""The window's building blocks, each drawn one way on every page: a page's head, an empty
state that says what to do, the list-and-details split, a details card, figures aligned with
their units, and the spent-of-budget bar."""
