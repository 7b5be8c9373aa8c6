"""The standard checkpoint workload: a 10-node chain over a story-like state, invoked many times on
one thread or on many threads at once, with each step timed."""

from __future__ import annotations

import asyncio
import itertools
import operator
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

NODES = 10
PLAN = "plan: " + "p" * 3000  # 3 KB, set once
CODE_BYTES = 5000  # rewritten by one node per pass
TEST_OUTPUT_BYTES = 2000  # rewritten by another node per pass
CODE_NODE, TEST_NODE = 3, 6


class WorkState(TypedDict):
    plan: str
    code: str
    test_output: str
    step: int
    messages: Annotated[list[dict[str, Any]], operator.add]


@dataclass
class Timings:
    """Node-entry times per thread: a step is from one node's start to the next one's."""

    marks: dict[str, list[float]] = field(default_factory=dict)

    def mark(self, thread_id: str) -> None:
        self.marks.setdefault(thread_id, []).append(time.perf_counter())

    def steps(self, invocation_starts: dict[str, list[int]]) -> list[float]:
        """Step durations, never across the boundary between two invocations."""
        durations = []
        for thread_id, marks in self.marks.items():
            boundaries = set(invocation_starts.get(thread_id, []))
            durations += [
                later - earlier
                for index, (earlier, later) in enumerate(itertools.pairwise(marks))
                if index + 1 not in boundaries
            ]
        return durations


def _message(node: int, step: int) -> dict[str, Any]:
    # ~170 bytes serialised, like a short agent turn.
    return {"role": "assistant", "node": f"n{node}", "step": step, "content": "m" * 120}


def _node(index: int, timings: Timings) -> Any:
    async def node(state: WorkState, config: RunnableConfig) -> dict[str, Any]:
        timings.mark(str(config["configurable"]["thread_id"]))
        step = state["step"]
        update: dict[str, Any] = {"step": step + 1, "messages": [_message(index, step)]}
        if index == 0 and not state["plan"]:
            update["plan"] = PLAN
        if index == CODE_NODE:
            update["code"] = f"# pass {step}\n" + "c" * CODE_BYTES
        if index == TEST_NODE:
            update["test_output"] = f"# pass {step}\n" + "t" * TEST_OUTPUT_BYTES
        return update

    return node


def build(
    saver: BaseCheckpointSaver[Any], timings: Timings
) -> CompiledStateGraph[Any, Any, Any, Any]:
    builder: StateGraph[Any] = StateGraph(WorkState)
    names = [f"n{index}" for index in range(NODES)]
    for index, name in enumerate(names):
        builder.add_node(name, _node(index, timings))
    builder.add_edge(START, names[0])
    for first, second in itertools.pairwise(names):
        builder.add_edge(first, second)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=saver)


def config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


@dataclass
class Run:
    steps: list[float]
    final: dict[str, Any]
    wall_s: float


async def invoke_many(
    saver: BaseCheckpointSaver[Any],
    threads: list[str],
    invocations: int,
    durability: str | None,
) -> Run:
    """`invocations` passes on each thread, the threads concurrently."""
    timings = Timings()
    graph = build(saver, timings)
    starts: dict[str, list[int]] = {}
    options: dict[str, Any] = {} if durability is None else {"durability": durability}

    async def one(thread_id: str) -> dict[str, Any]:
        state: dict[str, Any] = {
            "plan": "",
            "code": "",
            "test_output": "",
            "step": 0,
            "messages": [],
        }
        result: dict[str, Any] = {}
        for _ in range(invocations):
            starts.setdefault(thread_id, []).append(len(timings.marks.get(thread_id, [])))
            result = await graph.ainvoke(state, config(thread_id), **options)
            state = {"messages": []}
        return result

    began = time.perf_counter()
    results = await asyncio.gather(*(one(thread_id) for thread_id in threads))
    wall = time.perf_counter() - began
    return Run(timings.steps(starts), results[0], wall)
