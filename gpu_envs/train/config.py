"""The OmegaConf resolver examples/cfg uses (IsaacGymEnvs' `resolve_default`)."""

from __future__ import annotations

from omegaconf import OmegaConf


def _resolve_default(default, arg):
    return default if arg in ("", None) else arg


def register_resolvers() -> None:
    """Register `${resolve_default:default,${arg}}`: `arg`, or `default` where arg is '' or null."""
    OmegaConf.register_new_resolver("resolve_default", _resolve_default, replace=True)
