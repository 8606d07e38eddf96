"""Tokens: what an exchange used, what a text would use, and what it costs.

Open `usage` first (`Usage`, the one shape of every dialect's and CLI's counts). Counting:
`estimate` (a tokenizer-free estimate from a text's size) and `tokenizer` (real counts, o200k).
Prices: `pricing` (the bundled table `prices.json` as `PriceTable`, `Price`, `CostBasis`: whether a
call's cost is known before it runs), `maintained` (the maintained database beneath the table,
per provider, from the shipped copy `maintained_prices.json`), `price_book` (the engine's one
`PriceBook`: the person's prices, then the table, then the database), `price_settings` (a price
set from the desk, saved and live) and `money` (dollars as the desk writes them). Beside the
prices: `model_facts` (an embedding or a chat model, its context window).
"""
