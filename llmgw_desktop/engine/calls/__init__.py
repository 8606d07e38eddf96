"""Provider calls: what a caller may ask, which conversation it continues, whether it may run,
and running it as a job through retry and the breaker.

Open `provider_calls` first: it ties the rest together into the job a call becomes, and
`call_work` is what that job runs. `runner` is the one rule every front door runs a call by
(wait up to a deadline, else answer with the job id).

On the way in: `params` checks the arguments (every front door builds a `CallParams`);
`routing` picks the conversation and directory; `remote_gate` holds remote callers to their
workspace's grant; `approval` (reading prompts with `approval_text`) decides whether the call
may go ahead; `acp_permissions` says what a CLI's child starts with and who answers an ACP
agent's permission requests, a remote caller's checked first against its grant by
`permission_check`; `cli_spend` is what a CLI's call holds against hard budgets.

Around the call: `token_savings`, `prompt_optimizer` and `compression` are the opt-in prompt and
answer optimisation and the prompt-cache bookkeeping; `resilience` is the retry policy and the
circuit breaker.
"""

from llmgw_desktop.engine.calls.approval import ApprovalGate, PendingApproval
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta, checked_working_dir
from llmgw_desktop.engine.calls.provider_calls import ProviderCalls
from llmgw_desktop.engine.calls.runner import Call, CallRunner, Deferred, Finished, Outcome

__all__ = [
    "ApprovalGate",
    "Call",
    "CallParams",
    "CallRunner",
    "Deferred",
    "Finished",
    "Outcome",
    "PendingApproval",
    "ProviderCalls",
    "RequestMeta",
    "checked_working_dir",
]
