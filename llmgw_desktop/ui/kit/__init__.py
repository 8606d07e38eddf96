"""The window's building blocks, each drawn one way on every page.

A page is made of: `page_head` (title, a line on what it is for, its actions, its sub-tabs),
`text` (the three text sizes, and a path that fits its room), `empty_state` (what a list shows
with nothing in it, and what to do), `master_detail` (a list beside the chosen row's details),
`code_block` (a snippet to copy), `markdown_view` (a model's Markdown, code blocks with Copy)
and `stat_card` (a large figure over what it counts). Tables: `tables` (one style), `columns`
(fitted to their room, never scrolled sideways), `column_hint` (the line saying columns are
hidden), `two_line` (a cell of two lines) and `switch_cells` (a column of switches). Values:
`figures` (numbers aligned with their units), `spend_bar` (spent against a limit) and `switch`
(an on/off setting). Questions: `confirm` (asked before what cannot be taken back).
"""
