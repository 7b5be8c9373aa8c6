"""Disks, processes, services, firewalls and system logs: commands that reach the whole machine.

A formatted disk, a raw device written over, every process killed or the host shut down cannot
be undone and reaches far past the worktree. Turning off a firewall, a MAC policy or the audit
log removes a protection no story needs; a service restart or a kernel setting is the
operator's call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    AUDIT_OFF,
    DD_DEVICE,
    DD_OUTSIDE,
    FORMAT,
    KILL_ALL,
    KILL_BROAD,
    KILL_BY_NAME,
    PARTITION,
    PROTECT_OFF,
    SCHEDULE,
    SERVICE,
    SHUTDOWN,
    SYSCTL,
)
from wave_tui.safety.rules.execution.common import Checker, outside, show, split_args, table
from wave_tui.safety.shell import SimpleCommand

# --- disks and devices ----------------------------------------------------------------------

_PARTITION_TOOLS = frozenset({"fdisk", "sfdisk", "cfdisk", "gdisk", "sgdisk", "parted"})
_PARTITION_TOOLS |= {"wipefs", "blkdiscard", "lvremove", "vgremove", "pvremove"}
_DISKUTIL_ERASE = frozenset(
    {"eraseDisk", "eraseVolume", "partitionDisk", "zeroDisk", "randomDisk", "secureErase"}
)
_PSEUDO_DEVICES = re.compile(r"^/dev/(null|zero|stdout|stderr|stdin|tty|fd/\d+|u?random)$")


def format_disk(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    return [FORMAT.finding(show(cmd))]


def _partition(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:])
    listing = cmd.program in {"fdisk", "sfdisk", "gdisk", "parted"} and args.has("-l", "--list")
    listing |= cmd.program == "sfdisk" and args.has("-d", "--dump")
    listing |= cmd.program == "parted" and set(args.operands[1:]) == {"print"}
    wiping = args.has("--all", "--offset", "-o") or args.has_letter("a")
    if listing or (cmd.program == "wipefs" and not wiping):
        return []
    return [PARTITION.finding(show(cmd))]


def _diskutil(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    if set(cmd.argv[1:2]) & _DISKUTIL_ERASE:
        return [FORMAT.finding(show(cmd))]
    return []


def _dd(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    for arg in cmd.argv[1:]:
        if not arg.startswith("of="):
            continue
        target = arg[3:]
        if target.startswith("/dev/"):
            if not _PSEUDO_DEVICES.match(target):
                return [DD_DEVICE.finding(show(cmd))]
        elif outside(target, ctx):
            return [DD_OUTSIDE.finding(show(cmd))]
    return []


# --- processes and the machine --------------------------------------------------------------

# Killing these takes down the console, the user's sessions or the system itself.
_VITAL_PROCESSES = frozenset({"python", "python3", "bash", "sh", "zsh", "ssh", "sshd", "sudo"})
_VITAL_PROCESSES |= {"systemd", "init", "login", "tmux", "screen", "wave", "dockerd", "xorg"}
# Options that pick processes by owner, group or terminal: with no name they pick them all.
_KILL_FILTERS = {
    "pkill": frozenset({"-u", "-U", "-g", "-G", "-P", "-s", "-t", "--euid", "--uid", "--group"}),
    "killall": frozenset({"-u", "--user"}),
}
_KILL_VALUES = {
    "pkill": _KILL_FILTERS["pkill"] | {"-F", "--pidfile", "--signal", "--ns", "--nslist"},
    "killall": _KILL_FILTERS["killall"] | {"-s", "--signal", "-o", "--older-than", "-y", "-n"},
}


def _kill(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands: list[str] = []
    signalled = False
    args = cmd.argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            operands.extend(args[i + 1 :])
            break
        if arg in ("-l", "-L", "--list", "--table"):
            return []
        if arg in ("-s", "-n", "--signal"):
            signalled = True
            i += 1
        elif arg.startswith("-") and not signalled and not operands:
            signalled = True  # `-9`, `-KILL`: the signal; a later `-1` is a process group
        else:
            operands.append(arg)
        i += 1
    if any(pid in ("-1", "1") for pid in operands):
        return [KILL_ALL.finding(show(cmd))]
    return []


def _kill_by_name(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    if cmd.program == "killall5":
        return [KILL_ALL.finding(show(cmd))]
    args = split_args(cmd.argv[1:], _KILL_VALUES[cmd.program])
    if args.has("-l", "--list", "-V", "--version"):
        return []
    if not args.operands:
        filtered = bool(set(args.options) & _KILL_FILTERS[cmd.program])
        return [KILL_BROAD.finding(show(cmd))] if filtered else []
    for pattern in args.operands:
        core = pattern.replace(".*", "").strip("^$").lower()
        if len(core) <= 1 or core in _VITAL_PROCESSES:
            return [KILL_BROAD.finding(show(cmd))]
    return [KILL_BY_NAME.finding(show(cmd))]


def _shutdown(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    if cmd.program == "shutdown" and "-c" in args:
        return []  # cancels a pending shutdown
    if cmd.program in ("init", "telinit") and not set(args) & {"0", "6", "1", "s", "S", "single"}:
        return []
    return [SHUTDOWN.finding(show(cmd))]


# Security and logging units: stopping one is disabling a protection, not a restart.
_SECURITY_UNITS = frozenset({"firewalld", "ufw", "iptables", "ip6tables", "nftables", "apparmor"})
_SECURITY_UNITS |= {"selinux", "fail2ban", "clamav-daemon", "clamd", "osqueryd", "wazuh-agent"}
_SECURITY_UNITS |= {"falcon-sensor", "sshguard", "crowdstrike"}
_LOGGING_UNITS = frozenset({"auditd", "rsyslog", "syslog", "syslog-ng", "systemd-journald"})
_LOGGING_UNITS |= {"journald", "auditbeat", "filebeat"}
_UNIT_READS = frozenset({"status", "show", "cat", "is-active", "is-enabled", "is-failed", "help"})
_UNIT_READS |= {"list-units", "list-unit-files", "list-timers", "list-sockets", "get-default"}
_UNIT_READS |= {"list-dependencies", "list-jobs", "show-environment", "--version"}
_UNIT_PERSIST = frozenset({"enable", "reenable", "link", "preset", "add-wants", "add-requires"})
_UNIT_PERSIST |= {"set-default"}
_UNIT_HALT = frozenset({"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate"})
_UNIT_HALT |= {"hybrid-sleep", "rescue", "emergency", "soft-reboot"}
_UNIT_STOP = frozenset({"stop", "disable", "mask", "kill", "freeze"})
_SYSTEMCTL_VALUES = frozenset({"-t", "--type", "-p", "--property", "-H", "--host", "-M"})
_SYSTEMCTL_VALUES |= {"--machine", "-s", "--signal", "--state", "-n", "--lines", "-o", "--root"}


def _systemctl(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands = split_args(cmd.argv[1:], _SYSTEMCTL_VALUES).operands
    if not operands:
        return []
    return _unit_change(cmd, operands[0], operands[1:])


def _service(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands = split_args(cmd.argv[1:]).operands
    if len(operands) < 2:
        return []  # `service --status-all`, `service x`: nothing changes
    return _unit_change(cmd, operands[1], operands[:1])


def _unit_change(cmd: SimpleCommand, verb: str, units: Sequence[str]) -> list[Finding]:
    names = {re.sub(r"(@.*)?\.(service|socket|target|timer)$", "", u) for u in units}
    if verb in _UNIT_READS:
        return []
    if verb in _UNIT_HALT or (verb == "isolate" and names & {"rescue", "emergency", "poweroff"}):
        return [SHUTDOWN.finding(show(cmd))]
    if verb in _UNIT_PERSIST:
        return [SCHEDULE.finding(show(cmd))]
    if verb in _UNIT_STOP and names & _LOGGING_UNITS:
        return [AUDIT_OFF.finding(show(cmd))]
    if verb in _UNIT_STOP and names & _SECURITY_UNITS:
        return [PROTECT_OFF.finding(show(cmd))]
    return [SERVICE.finding(show(cmd))]


def _launchctl(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    verb = cmd.argv[1] if len(cmd.argv) > 1 else ""
    if verb in {"list", "print", "print-disabled", "blame", "version", "help", "getenv", ""}:
        return []
    if verb in {"load", "bootstrap", "enable", "submit", "kickstart"}:
        return [SCHEDULE.finding(show(cmd))]
    return [SERVICE.finding(show(cmd))]


def _sysctl(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:])
    writes = args.has("-w", "--write", "-p", "--load", "--system")
    if writes or any("=" in operand for operand in args.operands):
        return [SYSCTL.finding(show(cmd))]
    return []


# --- protections and logs -------------------------------------------------------------------

_IPTABLES_OFF = frozenset({"-F", "--flush", "-X", "--delete-chain"})
_IPTABLES_CHANGE = frozenset({"-A", "--append", "-I", "--insert", "-D", "--delete", "-R"})
_IPTABLES_CHANGE |= {"--replace", "-N", "--new-chain", "-P", "--policy", "-Z", "--zero"}


def _iptables(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    for i, arg in enumerate(args):
        if arg in _IPTABLES_OFF:
            return [PROTECT_OFF.finding(show(cmd))]
        if arg in ("-P", "--policy") and "ACCEPT" in args[i + 2 : i + 3]:
            return [PROTECT_OFF.finding(show(cmd))]
    if set(args) & _IPTABLES_CHANGE:
        return [SERVICE.finding(show(cmd))]
    return []


def _nft(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands = split_args(cmd.argv[1:]).operands
    verb = operands[0] if operands else ""
    if verb == "flush" or (verb == "delete" and "table" in operands[1:2]):
        return [PROTECT_OFF.finding(show(cmd))]
    if verb in {"add", "insert", "replace", "delete", "create", "reset"}:
        return [SERVICE.finding(show(cmd))]
    return []


def _ufw(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands = split_args(cmd.argv[1:]).operands
    verb = operands[0] if operands else ""
    if verb in ("disable", "reset") or (verb == "default" and "allow" in operands[1:2]):
        return [PROTECT_OFF.finding(show(cmd))]
    if verb in {"status", "show", "version", "app", ""}:
        return []
    return [SERVICE.finding(show(cmd))]


def _protection_switch(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    turned_off = {
        "setenforce": bool(set(args) & {"0", "permissive", "Permissive"}),
        "csrutil": "disable" in args,
        "spctl": bool(set(args) & {"--master-disable", "--global-disable"}),
        "pfctl": "-d" in args or "-F" in args,
        "apparmor_parser": bool(set(args) & {"-R", "--remove"}),
    }.get(cmd.program, True)  # aa-disable, aa-complain, aa-teardown: always off
    return [PROTECT_OFF.finding(show(cmd))] if turned_off else []


def _auditctl(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    off = any(a == "-e" and args[i + 1 : i + 2] == ("0",) for i, a in enumerate(args))
    if off or set(args) & {"-D", "-d"}:
        return [AUDIT_OFF.finding(show(cmd))]
    return []


def _journalctl(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    if any(arg.startswith("--vacuum") for arg in cmd.argv[1:]):
        return [AUDIT_OFF.finding(show(cmd))]
    return []


# The programs this module judges, by name.
CHECKERS: dict[str, Checker] = {
    **table(format_disk, "mke2fs mkswap mkntfs mkdosfs"),
    **table(_partition, " ".join(_PARTITION_TOOLS)),
    "diskutil": _diskutil,
    "dd": _dd,
    "kill": _kill,
    **table(_kill_by_name, "killall pkill killall5"),
    **table(_shutdown, "shutdown reboot halt poweroff init telinit"),
    "systemctl": _systemctl,
    "service": _service,
    "launchctl": _launchctl,
    "sysctl": _sysctl,
    **table(_iptables, "iptables ip6tables iptables-legacy ip6tables-legacy"),
    "nft": _nft,
    "ufw": _ufw,
    **table(_protection_switch, "setenforce csrutil spctl pfctl apparmor_parser"),
    **table(_protection_switch, "aa-disable aa-complain aa-teardown"),
    "auditctl": _auditctl,
    "journalctl": _journalctl,
}
