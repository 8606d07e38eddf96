"""What a gateway request leaves behind: its flight-recorder rows and what it reports.

Open `recording` first: `RequestRecords` is the only writer of a gateway request's recorder
row (one row per attempt, one for a request refused before any provider was asked; a test
reads the code for any other writer). `report` is what a request says about itself (the route
taken, for the answer's headers, its body and the row); `capture` hands the request's and the
answer's bodies to the recorder when the person asked to keep them; `server_tool_use` counts a
vendor's server tools an answer used (billed per call); `tracing` says what an error answer
tells about the request that failed; `first_refusals` says the first refusal of each kind
someone must set up on the log and the terminal.
"""
