"""toolware: composable async interceptor pipelines for agent tool, plugin and RAG calls."""

from toolware.clock import Clock, SystemClock, system_clock
from toolware.conditions import When
from toolware.context import (
    ExtraKey,
    Extras,
    Kind,
    Principal,
    RequestContext,
    ResponseContext,
    TraceContext,
)
from toolware.defaults import default_builder, default_pipeline
from toolware.errors import (
    BuilderFrozenError,
    CallCancelledError,
    CallTimeoutError,
    CircuitOpenError,
    ErrorCategory,
    FieldError,
    ForbiddenError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RegistrationError,
    RegistryCollisionError,
    SetupError,
    ToolFailedError,
    ToolwareError,
    UnauthenticatedError,
    UnavailableError,
    UnknownEntryError,
)
from toolware.interceptors import StatsInterceptor, TimeoutInterceptor, ValidationInterceptor
from toolware.pipeline import Pipeline, PipelineBuilder, Stage
from toolware.registry import (
    CompositeRegistry,
    Document,
    Entry,
    EntryDescription,
    LocalRegistry,
    Registry,
    Retriever,
    Source,
)
from toolware.router import Router
from toolware.stats import StatsRecorder, StatsSnapshot, TargetStats
from toolware.types import CallNext, Handler, Interceptor

__version__ = "0.1.0"

__all__ = [
    "BuilderFrozenError",
    "CallCancelledError",
    "CallNext",
    "CallTimeoutError",
    "CircuitOpenError",
    "Clock",
    "CompositeRegistry",
    "Document",
    "Entry",
    "EntryDescription",
    "ErrorCategory",
    "ExtraKey",
    "Extras",
    "FieldError",
    "ForbiddenError",
    "Handler",
    "Interceptor",
    "InternalError",
    "InvalidRequestError",
    "Kind",
    "LocalRegistry",
    "NotFoundError",
    "Pipeline",
    "PipelineBuilder",
    "Principal",
    "RateLimitedError",
    "RegistrationError",
    "Registry",
    "RegistryCollisionError",
    "RequestContext",
    "ResponseContext",
    "Retriever",
    "Router",
    "SetupError",
    "Source",
    "Stage",
    "StatsInterceptor",
    "StatsRecorder",
    "StatsSnapshot",
    "SystemClock",
    "TargetStats",
    "TimeoutInterceptor",
    "ToolFailedError",
    "ToolwareError",
    "TraceContext",
    "UnauthenticatedError",
    "UnavailableError",
    "UnknownEntryError",
    "ValidationInterceptor",
    "When",
    "__version__",
    "default_builder",
    "default_pipeline",
    "system_clock",
]
