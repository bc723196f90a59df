"""Request and response bodies of the REST API, as the OpenAPI document describes them.

Requests are checked for shape here; the domain (through the scenario format's parsers,
shared with `adhere evaluate`) checks meaning and names the offending field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_ID = Field(min_length=1, max_length=128)
Instant = str  # RFC 3339 with an offset; responses are UTC with Z


class _Input(BaseModel):
    """A request body: keys it does not define are ignored, as in scenario files."""

    model_config = ConfigDict(extra="ignore")


class SettingsIn(_Input):
    adherence_exception_threshold_seconds: float | None = None
    severe_alert_threshold_minutes: float | None = None
    adherence_target_percent: float | None = None
    non_on_queue_activities_equivalent: bool | None = None
    ignored_activity_categories: list[str] | None = None
    ignored_activity_code_ids: list[str] | None = None
    working_outside_shift_is_exception: bool | None = None
    offline_adherent_categories: list[str] | None = None
    presence_categories: dict[str, str] | None = None


class Settings(BaseModel):
    adherence_exception_threshold_seconds: float
    severe_alert_threshold_minutes: float
    adherence_target_percent: float
    non_on_queue_activities_equivalent: bool
    ignored_activity_categories: list[str]
    ignored_activity_code_ids: list[str]
    working_outside_shift_is_exception: bool
    offline_adherent_categories: list[str]
    presence_categories: dict[str, str]


class ManagementUnitIn(_Input):
    name: str | None = Field(default=None, max_length=200)
    time_zone: str = Field(min_length=1, max_length=64, examples=["America/New_York"])
    settings: SettingsIn | None = None


class ManagementUnit(BaseModel):
    id: str
    name: str
    time_zone: str
    settings: Settings


class TeamIn(_Input):
    name: str | None = Field(default=None, max_length=200)
    management_unit_id: str = _ID


class Team(BaseModel):
    id: str
    name: str
    management_unit_id: str


class AgentIn(_Input):
    name: str | None = Field(default=None, max_length=200)
    management_unit_id: str = _ID
    team_id: str | None = Field(default=None, min_length=1, max_length=128)
    external_ids: dict[str, str] | None = Field(
        default=None, description="Ids of this agent on other platforms, by platform name."
    )


class Agent(BaseModel):
    id: str
    name: str
    management_unit_id: str
    team_id: str | None
    external_ids: dict[str, str]


class ActivityCodeIn(_Input):
    name: str | None = Field(default=None, max_length=200)
    category: str = Field(examples=["OnQueueWork", "Break", "Meal"])
    secondary_presence_id: str | None = Field(default=None, min_length=1, max_length=128)
    active: bool = True


class ActivityCode(BaseModel):
    id: str
    name: str
    category: str
    secondary_presence_id: str | None
    active: bool


class ActivityIn(_Input):
    start: Instant
    end: Instant | None = None
    length_minutes: float | None = None
    activity_code_id: str = _ID


class Activity(BaseModel):
    start: Instant
    end: Instant
    length_minutes: float
    activity_code_id: str


class ScheduleIn(_Input):
    """Replace the agent's activities inside ``[start, end)``; ones straddling an edge are cut."""

    start: Instant
    end: Instant
    activities: list[ActivityIn] = Field(max_length=10_000)


class Schedule(BaseModel):
    agent_id: str
    activities: list[Activity]


class ScheduleImportItem(ScheduleIn):
    agent_id: str = _ID


class ScheduleImportIn(_Input):
    schedules: list[ScheduleImportItem] = Field(max_length=100_000)


class ScheduleImportResult(BaseModel):
    schedules: int
    activities: int


class EventIn(BaseModel):
    """One agent state event (rules §2). Unknown keys are ignored."""

    id: str = _ID
    agent_id: str = _ID
    time: Instant
    kind: Literal["login", "logout", "presence", "routing_status", "state", "unknown"]
    system_presence: str | None = Field(default=None, examples=["OnQueue", "Available", "Break"])
    secondary_presence_id: str | None = None
    routing_status: str | None = Field(default=None, examples=["IDLE", "INTERACTING"])
    queue_ids: list[str] | None = None


class EventBatchIn(BaseModel):
    events: list[EventIn] = Field(max_length=10_000)


class EventResult(BaseModel):
    index: int
    id: str | None
    agent_id: str | None
    outcome: Literal["accepted", "duplicate", "rejected"]
    field: str | None = Field(default=None, description="Where a rejected event is wrong.")
    reason: str | None = None


class EventBatchResult(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    results: list[EventResult]


class LiveAdherence(BaseModel):
    agent_id: str
    agent_name: str
    management_unit_id: str
    team_id: str | None
    scheduled_category: str
    scheduled_activity_code_id: str | None
    actual_category: str
    system_presence: str
    secondary_presence_id: str | None
    routing_status: str
    adherence_state: str
    impact: str
    since: Instant | None = Field(description="When the current values began.")
    out_of_adherence_since: Instant | None
    out_of_adherence_seconds: float = Field(description="Length of the current run, or 0.")
    at: Instant = Field(description="The instant these values describe (the agent's horizon).")


class LiveAdherenceList(BaseModel):
    items: list[LiveAdherence]


class HistoricalQueryIn(_Input):
    agent_ids: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    management_unit_id: str | None = None
    team_id: str | None = None
    start: Instant
    end: Instant
    include_segments: bool = False
    include_exceptions: bool = False


class Metrics(BaseModel):
    state_seconds: dict[str, float]
    adherence_schedule_seconds: float
    exception_seconds: float
    adherence_percent: float | None
    conformance_schedule_seconds: float
    conformance_actual_seconds: float
    conformance_percent: float | None
    impact_seconds: dict[str, float]


class Segment(BaseModel):
    start: Instant
    end: Instant
    scheduled_category: str
    scheduled_activity_code_id: str | None
    actual_category: str
    adherence_state: str
    impact: str


class ExceptionOut(BaseModel):
    start: Instant
    end: Instant
    duration_seconds: float
    impact: str
    severe: bool


class Day(BaseModel):
    date: str
    start: Instant
    end: Instant
    metrics: Metrics


class AgentHistory(BaseModel):
    agent_id: str
    segments: list[Segment] | None = None
    exceptions: list[ExceptionOut] | None = None
    metrics: Metrics
    days: list[Day]


class Totals(BaseModel):
    metrics: Metrics


class Historical(BaseModel):
    agents: list[AgentHistory]
    totals: Totals


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["running", "succeeded", "failed"]
    result: Historical | None = None
    error: str | None = None


class ExplanationIn(_Input):
    agent_id: str = _ID
    start: Instant
    length_minutes: float
    type: Literal["Late"] = "Late"
    notes: str | None = Field(default=None, max_length=2000)


class ExplanationDecisionIn(_Input):
    notes: str | None = Field(default=None, max_length=2000)


class Explanation(BaseModel):
    id: str
    agent_id: str
    start: Instant
    end: Instant
    length_minutes: float
    type: str
    status: Literal["Pending", "Approved", "Denied"]
    notes: str | None
    created: Instant
    updated: Instant


class ExplanationList(BaseModel):
    items: list[Explanation]


class Items(BaseModel):
    items: list[Any]


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, str]] | None = None
    required_scopes: list[str] | None = None
    granted_scopes: list[str] | None = None


class TopicOut(BaseModel):
    name: str
    description: str
    data_schema: dict[str, Any] = Field(description="JSON Schema of the message's `data`")


class TopicList(BaseModel):
    items: list[TopicOut]


_FILTER = Field(
    default=None,
    max_length=50,
    description="Criteria every delivered message must match, each "
    '`{"path": JSONPath, "operator": Equal|NotEqual|In|NotIn|GreaterThan|GreaterThanOrEqual|'
    'LessThan|LessThanOrEqual|Exists|Contains, "value"}`, e.g. '
    '`[{"path": "$.data.current.adherence_state", "operator": "Equal", '
    '"value": "OutOfAdherence"}]`; null: every message of its topics',
)


class WebhookIn(_Input):
    url: str = Field(min_length=1, max_length=2000)
    topics: list[str] = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    filter: list[Any] | None = _FILTER


class WebhookChangeIn(_Input):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    topics: list[str] | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None
    filter: list[Any] | None = _FILTER


class Webhook(BaseModel):
    id: str
    url: str
    topics: list[str]
    filter: list[dict[str, Any]] | None
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: Instant | None
    created: Instant
    updated: Instant


class WebhookCreated(Webhook):
    secret: str = Field(description="Signs every delivery (Standard Webhooks); shown only here")


class WebhookList(BaseModel):
    items: list[Webhook]


class Delivery(BaseModel):
    id: int
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt")
    topic: str
    message_created: Instant
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt: Instant | None
    last_status: int | None
    last_error: str | None
    updated: Instant
    payload: dict[str, Any]


class DeliveryList(BaseModel):
    items: list[Delivery]


class ReplayIn(_Input):
    since: Instant


class ReplayResult(BaseModel):
    replayed: int


class CredentialIn(_Input):
    """One of three kinds; each takes only its own fields (a field of another kind is refused).

    - `basic`: `username`, `password`
    - `user_defined`: `fields` (templates use them as `$credentials.<name>`)
    - `oauth_client_credentials`: `token_url`, `client_id`, `client_secret`, `scopes`,
      `audience`, `extra_params`, `auth_method` (`basic` or `post`)

    Any kind may have a `base_url` that relative action URLs are resolved against. The
    secret values (`password`, `fields`' values, `client_secret`) are sealed and never shown.
    """

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["basic", "user_defined", "oauth_client_credentials"]
    base_url: str | None = Field(default=None, examples=["https://api.mypurecloud.com"])
    username: str | None = None
    password: str | None = None
    fields: dict[str, str] | None = None
    token_url: str | None = Field(
        default=None, examples=["https://login.mypurecloud.com/oauth/token"]
    )
    client_id: str | None = None
    client_secret: str | None = None
    scopes: list[str] | str | None = None
    audience: str | None = None
    extra_params: dict[str, str] | None = None
    auth_method: str | None = Field(default=None, examples=["basic", "post"])


class Credential(BaseModel):
    id: str
    name: str
    kind: Literal["basic", "user_defined", "oauth_client_credentials"]
    details: dict[str, Any] = Field(description="What is not secret (never the secret values)")
    created: Instant
    updated: Instant


class CredentialList(BaseModel):
    items: list[Credential]


class ActionSummary(BaseModel):
    id: str
    name: str
    category: str
    method: str
    url_template: str
    credential_id: str | None
    timeout_seconds: int
    created: Instant
    updated: Instant


class ActionList(BaseModel):
    items: list[ActionSummary]


class ActionInput(_Input):
    input: dict[str, Any] = Field(
        default_factory=dict, description="Checked against the contract's input schema"
    )


class ActionAttempt(BaseModel):
    number: int
    status: int | None = Field(description="The HTTP status; null when nothing answered")
    duration_ms: float
    error: str | None


class ActionExecution(BaseModel):
    id: str
    action_id: str
    source: str = Field(description='"api", "cli" or "rule:<rule id>"')
    started: Instant
    finished: Instant
    outcome: Literal["succeeded", "failed"]
    attempts: list[ActionAttempt]
    input: dict[str, Any]
    output: Any = None
    error: str | None
    failed_step: str | None


class ActionExecutionList(BaseModel):
    items: list[ActionExecution]


class ActionTraceStep(BaseModel):
    name: str
    status: Literal["succeeded", "failed", "not_run"]
    result: Any = None
    error: str | None = None
    field: str | None = None


class ActionTrace(BaseModel):
    success: bool
    steps: list[ActionTraceStep]
    output: Any = None
    error: str | None = None
