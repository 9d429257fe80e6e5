# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one build skeleton every output kind plugs into (private to this collection).

:func:`run_build` does what every build does, in this order:

    inspect the input -> lock the output -> digest of all inputs -> up to date? (stamp) -> check mode?
    -> Build (work dir, log, signals) -> the pipeline's own steps -> commit (publish + stamp) -> result

A pipeline (disk image, Live ISO, and next a network-boot tree) is a :class:`Pipeline`: it names its
kind and host tools, validates and inspects its request, says which options enter the digest and which
steps it would run, and makes a temp output inside the :class:`Build` (:meth:`Pipeline.make`). It never
locks, stamps, publishes or decides idempotency itself.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, TypeVar

from ansible_collections.liveiso.customizer.plugins.module_utils._build.build import Build, StepTiming
from ansible_collections.liveiso.customizer.plugins.module_utils._build.host import check_output_path
from ansible_collections.liveiso.customizer.plugins.module_utils._build.lock import output_lock
from ansible_collections.liveiso.customizer.plugins.module_utils._build.stamp import (
    Stamp, build_digest, input_checksum, output_is_current, read_stamp, stamp_checksum, write_stamp)
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.version import COLLECTION_VERSION

Result = Dict[str, Any]  # the module result (the keys of every outcome, and each pipeline's own)


class Request(Protocol):
    """What every build request has (the pipelines' own requests add their options)."""

    @property
    def image(self) -> str:
        ...

    @property
    def output(self) -> str:
        ...

    @property
    def config(self) -> Config:
        ...

    @property
    def build_dir(self) -> Optional[str]:
        ...

    @property
    def force(self) -> bool:
        ...

    @property
    def check_mode(self) -> bool:
        ...

    @property
    def checksum(self) -> bool:
        ...


RequestT = TypeVar("RequestT", bound=Request)
RequestT_contra = TypeVar("RequestT_contra", bound=Request, contravariant=True)
InfoT = TypeVar("InfoT")  # what a pipeline's inspect() found: the other methods get it back


@dataclasses.dataclass
class Made:
    """What :meth:`Pipeline.make` made: the temp output and what the result and the stamp say of it."""

    temp_output: str
    sha256: Optional[str]
    msg: str
    notes: List[str] = dataclasses.field(default_factory=list)
    result: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # extra result keys
    stamp: Dict[str, Any] = dataclasses.field(default_factory=dict)  # extra stamp keys (Stamp.details)


class Pipeline(Protocol[RequestT_contra, InfoT]):
    """One output kind, for requests of type ``RequestT_contra``; its :meth:`inspect` returns an ``InfoT``."""

    @property
    def kind(self) -> str:
        """The stamp's and digest's kind: image_customize, liveos_iso."""

    @property
    def tools(self) -> Sequence[str]:
        """Host tools checked before anything is done."""

    def inspect(self, request: RequestT_contra) -> InfoT:
        """Validate ``request`` and look at its input (no writes); the value is passed to the other methods."""

    def options(self, request: RequestT_contra, info: InfoT) -> Mapping[str, object]:
        """The output options that enter the digest (not the config: it always does)."""

    def base_result(self, request: RequestT_contra, info: InfoT) -> Result:
        """Result keys every outcome has (up to date, check mode, built)."""

    def current_result(self, stamp: Stamp) -> Result:
        """Extra result keys of an up-to-date output, from its stamp."""

    def planned_steps(self, request: RequestT_contra, info: InfoT) -> List[str]:
        """The steps a build would run (check mode)."""

    def make(self, build: Build, request: RequestT_contra, info: InfoT, digest: str) -> Made:
        """Build the output into a temp file of ``build``."""


def run_build(pipeline: Pipeline[RequestT, InfoT], request: RequestT) -> Result:
    """Build ``request`` with ``pipeline`` if its output is not up to date; return the module result."""
    info = pipeline.inspect(request)
    output = os.path.abspath(request.output)
    if os.path.abspath(request.image) == output:
        raise ConfigError("output", "must differ from image: the input image is never modified")
    check_output_path(output)
    with output_lock(output, request.check_mode) as waited:
        result = _run_locked(pipeline, request, info, output)
    if waited:
        result.setdefault("notes", []).append("waited %.1f s for another build of the same output" % waited)
    return result


def _run_locked(pipeline: Pipeline[RequestT, InfoT], request: RequestT, info: InfoT, output: str) -> Result:
    stamp = read_stamp(output)
    input_sha, input_identity = input_checksum(request.image, stamp)
    digest = build_digest(pipeline.kind, input_sha, request.config, pipeline.options(request, info),
                          COLLECTION_VERSION)
    result: Result = {"output": output, "digest": digest}
    result.update(pipeline.base_result(request, info))
    if stamp is not None and not request.force and output_is_current(output, stamp, digest):
        result.update(changed=False, sha256=stamp_checksum(output, stamp, request.checksum),
                      size=stamp.output.size, steps=[], msg="%s is up to date (inputs unchanged)" % output)
        result.update(pipeline.current_result(stamp))
        return result
    if request.check_mode:
        planned: List[StepTiming] = [{"name": n, "seconds": 0} for n in pipeline.planned_steps(request, info)]
        result.update(changed=True, steps=planned, msg="%s would be built" % output)
        return result
    with Build(output, request.build_dir, pipeline.tools) as build:
        made = pipeline.make(build, request, info, digest)
        build.commit(made.temp_output, lambda: write_stamp(
            output, digest, input_sha, input_identity, made.sha256, kind=pipeline.kind, version=COLLECTION_VERSION,
            details=made.stamp))
        result.update(changed=True, sha256=made.sha256, size=os.path.getsize(output), steps=build.steps,
                      notes=build.recovered + made.notes, msg=made.msg)
        result.update(made.result)
        if request.build_dir:
            result["log"] = build.log_path
        LOG.info("built %s", output)
    return result
