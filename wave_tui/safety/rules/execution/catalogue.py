"""Every rule of the execution package, with the one severity each is set at.

One scale for every severity here. CRITICAL: cannot be undone and reaches past the worktree (a
formatted disk, a deleted cloud resource, every process killed). HIGH: no coding story needs it
and an approval would not make it safe (changing a live system, publishing a release, turning
off a firewall or the audit log, printing a secret, a setuid bit). MEDIUM: a story may need it
but it changes something outside the story, so the operator decides (an unlisted package, sudo,
a service restart, ssh, a recursive delete in inline code). LOW: reads a live system; allowed,
noted. Deploys and publishing are HIGH rather than MEDIUM because others see them at once and
they cannot be recalled: the release process, not a keypress, is their gate. A production CLI
action the layer cannot classify is MEDIUM, so an unknown verb is never waved through.
"""

from __future__ import annotations

from wave_tui.safety.findings import Rule
from wave_tui.safety.principles import Severity

_CRITICAL, _HIGH, _MEDIUM, _LOW = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
_DESTRUCTIVE = "security.destructive_commands"
_PROTECTIONS = "security.disable_protections"
_AUTH = "security.bypass_auth"
_SECRETS = "security.expose_secrets"
_PRESERVE = "data_integrity.preserve_data"
_VALIDATE = "data_integrity.validate_input"
_PRODUCTION = "system_safety.production_changes"
_PLAN = "compliance.approved_plan"
_GATES = "compliance.validation_gates"
_AUDIT = "compliance.audit_trail"
_RATE = "system_safety.rate_limits"

FORMAT = Rule("exec.destroy.mkfs", _DESTRUCTIVE, _CRITICAL, "formats a disk: all on it is lost")
PARTITION = Rule(
    "exec.destroy.partition", _DESTRUCTIVE, _CRITICAL, "rewrites or wipes a disk's layout"
)
DD_DEVICE = Rule("exec.destroy.dd_device", _DESTRUCTIVE, _CRITICAL, "dd writes over a raw device")
DD_OUTSIDE = Rule(
    "exec.destroy.dd_outside_worktree",
    _PRESERVE,
    _HIGH,
    "dd overwrites a file outside the worktree",
)
KILL_ALL = Rule("exec.kill.all", _DESTRUCTIVE, _CRITICAL, "signals every process, or init")
KILL_BROAD = Rule(
    "exec.kill.broad", _DESTRUCTIVE, _HIGH, "kills by a pattern matching far more than its own"
)
KILL_BY_NAME = Rule(
    "exec.kill.by_name", _DESTRUCTIVE, _MEDIUM, "kills every process of a name, not only its own"
)
SHUTDOWN = Rule("exec.system.shutdown", _DESTRUCTIVE, _CRITICAL, "shuts down or restarts the host")
SERVICE = Rule("exec.system.service", _PRODUCTION, _MEDIUM, "changes a system service or firewall")
SYSCTL = Rule("exec.system.sysctl", _PROTECTIONS, _MEDIUM, "changes kernel settings machine-wide")
PERM_SYSTEM = Rule(
    "exec.perm.recursive_system",
    _PROTECTIONS,
    _CRITICAL,
    "changes modes or owners of a system tree",
)
PERM_OUTSIDE = Rule(
    "exec.perm.outside_worktree",
    _PROTECTIONS,
    _HIGH,
    "changes modes or owners outside the worktree",
)
PERM_WORLD = Rule(
    "exec.perm.world_writable", _PROTECTIONS, _MEDIUM, "makes files writable by every user"
)
PERM_SETUID = Rule(
    "exec.perm.setuid", _AUTH, _HIGH, "sets setuid/setgid bits or capabilities: grants privilege"
)
PROTECT_OFF = Rule(
    "exec.protect.disable", _PROTECTIONS, _HIGH, "turns off a firewall, MAC policy or TLS checks"
)
AUDIT_OFF = Rule("exec.audit.disable", _AUDIT, _HIGH, "stops or erases the system's audit logs")
HISTORY_OFF = Rule("exec.audit.history", _AUDIT, _HIGH, "erases or stops the shell history")
SUDO = Rule("exec.privilege.sudo", _AUTH, _MEDIUM, "runs as root or as another user")
ROOT_SHELL = Rule(
    "exec.privilege.root_shell", _AUTH, _HIGH, "opens an interactive shell as root or another user"
)
SU = Rule("exec.privilege.su", _AUTH, _MEDIUM, "runs a command as another user through su")
NAMESPACE = Rule(
    "exec.privilege.namespace", _AUTH, _HIGH, "enters another root, namespace or the host itself"
)
ACCOUNTS = Rule("exec.privilege.accounts", _AUTH, _HIGH, "changes users, groups or passwords")
CRONTAB_REMOVE = Rule(
    "exec.persist.crontab_remove", _PRESERVE, _CRITICAL, "deletes the user's whole crontab"
)
SCHEDULE = Rule(
    "exec.persist.schedule", _GATES, _HIGH, "installs a job that runs later, past every check"
)
SSH_COMMAND = Rule(
    "exec.remote.ssh_command", _PRODUCTION, _MEDIUM, "runs a command on another host"
)
SSH_SESSION = Rule(
    "exec.remote.ssh_session", _PRODUCTION, _MEDIUM, "opens a session to another host"
)
PROD_READ = Rule("exec.prod.read", _PRODUCTION, _LOW, "reads from a live cloud or cluster")
PROD_OTHER = Rule(
    "exec.prod.other", _PRODUCTION, _MEDIUM, "a production CLI action the layer cannot classify"
)
PROD_CHANGE = Rule("exec.prod.change", _PRODUCTION, _HIGH, "changes a live system")
PROD_DESTROY = Rule("exec.prod.destroy", _DESTRUCTIVE, _CRITICAL, "deletes live resources")
PUBLISH = Rule(
    "exec.publish", _PRODUCTION, _HIGH, "publishes a package, image or release: cannot be recalled"
)
DOCKER_DATA = Rule(
    "exec.docker.data_loss", _PRESERVE, _HIGH, "deletes Docker volumes or prunes the Docker host"
)
DOCKER_REMOVE = Rule("exec.docker.remove", _PRESERVE, _MEDIUM, "removes containers and their data")
ENV_DUMP = Rule("exec.secrets.env_dump", _SECRETS, _MEDIUM, "prints the environment, keys included")
SECRET_VARIABLE = Rule(
    "exec.secrets.variable", _SECRETS, _HIGH, "prints a variable that holds a secret"
)
SECRET_STORE = Rule(
    "exec.secrets.store_read", _SECRETS, _HIGH, "reads secrets out of a keychain or vault"
)
UNLISTED = Rule(
    "exec.install.unlisted_package", _PLAN, _MEDIUM, "installs a package the story does not name"
)
UNTRUSTED_SOURCE = Rule(
    "exec.install.untrusted_source",
    "system_safety.network_requests",
    _HIGH,
    "installs from a URL, repository or index that is not approved",
)
INSTALL_SCOPE = Rule(
    "exec.install.system_scope", _PLAN, _MEDIUM, "installs outside the project's environment"
)
SYSTEM_PACKAGE = Rule(
    "exec.install.system_package", _PLAN, _MEDIUM, "changes the machine's system packages"
)
UNINSTALL = Rule("exec.install.uninstall", _PLAN, _MEDIUM, "removes an installed package")
INLINE_PROCESS = Rule(
    "exec.inline_code.process",
    _VALIDATE,
    _MEDIUM,
    "inline code starts programs the layer can't see",
)
INLINE_EVAL = Rule(
    "exec.inline_code.eval", _VALIDATE, _MEDIUM, "inline code evaluates code built at run time"
)
INLINE_DELETE = Rule(
    "exec.inline_code.delete", _PRESERVE, _MEDIUM, "inline code deletes files or trees"
)
INLINE_DELETE_OUTSIDE = Rule(
    "exec.inline_code.delete_outside", _PRESERVE, _HIGH, "inline code deletes outside the worktree"
)
SKIP_HOOKS = Rule("exec.gates.skip_hooks", _GATES, _MEDIUM, "disables the project's commit hooks")
LOAD_TEST = Rule("exec.load_test", _RATE, _MEDIUM, "floods a non-local host with requests")
FORK_BOMB = Rule(
    "exec.destroy.fork_bomb",
    _DESTRUCTIVE,
    _CRITICAL,
    "a function that starts copies of itself until the machine stops",
)
SAFETY_CONFIG_ENV = Rule(
    "exec.safety_config_env",
    _PROTECTIONS,
    _CRITICAL,
    "changes the safety layer's own thresholds, policy or judge",
)
PRELOAD = Rule(
    "exec.env.preload", _PROTECTIONS, _MEDIUM, "loads other libraries into every program it runs"
)
FORGED_IDENTITY = Rule(
    "exec.audit.forged_identity", _AUDIT, _MEDIUM, "records work under another name or date"
)
PROD_ENV = Rule(
    "exec.prod.env_target", _PRODUCTION, _MEDIUM, "points a command at a production host"
)
MASKED_FAILURE = Rule(
    "exec.gates.masked_failure", _GATES, _MEDIUM, "a test or lint run whose failure is swallowed"
)
SKIPPED_TESTS = Rule(
    "exec.gates.skipped_tests", _GATES, _MEDIUM, "a test run that leaves the test suite out"
)
SELF_APPROVE = Rule(
    "exec.self_approve",
    _AUDIT,
    _CRITICAL,
    "decides an escalation: only the operator approves or rejects",
)
WAVE_DATABASE = Rule(
    "exec.wave.database", _AUDIT, _HIGH, "changes WAVE's own database, where the audit trail lives"
)
DB_DESTROY = Rule(
    "exec.db.destroy", _PRESERVE, _CRITICAL, "drops a database or rolls back every migration"
)
DB_DOWNGRADE = Rule(
    "exec.db.downgrade", _PRESERVE, _MEDIUM, "rolls migrations back: what they added goes too"
)
SCAN = Rule("exec.scan", "system_safety.network_requests", _HIGH, "scans or attacks other hosts")
FLOOD = Rule("exec.flood", _RATE, _HIGH, "floods a host with packets or requests, without pause")
REQUEST_LOOP = Rule(
    "exec.request_loop", _RATE, _MEDIUM, "sends requests to a remote host in a loop"
)
DOWNLOAD_RUN = Rule(
    "exec.install.download_run",
    _PLAN,
    _MEDIUM,
    "downloads a package the story does not name and runs it",
)
GH_MERGE = Rule("exec.gh.merge", _GATES, _MEDIUM, "merges a pull request: the operator's call")
GH_ADMIN = Rule(
    "exec.gh.admin_override", _AUTH, _HIGH, "merges past branch protection, or changes it"
)
SCRIPT_OUTSIDE = Rule(
    "exec.script_outside", _VALIDATE, _MEDIUM, "runs a script from outside the worktree, unread"
)
GH_API_WRITE = Rule(
    "exec.gh.api_write", _PRODUCTION, _MEDIUM, "changes a repository through the GitHub API"
)

RULES: tuple[Rule, ...] = (
    FORMAT, PARTITION, DD_DEVICE, DD_OUTSIDE, KILL_ALL, KILL_BROAD, KILL_BY_NAME, SHUTDOWN,
    SERVICE, SYSCTL, PERM_SYSTEM, PERM_OUTSIDE, PERM_WORLD, PERM_SETUID, PROTECT_OFF, AUDIT_OFF,
    HISTORY_OFF, SUDO, ROOT_SHELL, SU, NAMESPACE, ACCOUNTS, CRONTAB_REMOVE, SCHEDULE, SSH_COMMAND,
    SSH_SESSION, PROD_READ, PROD_OTHER, PROD_CHANGE, PROD_DESTROY, PUBLISH, DOCKER_DATA,
    DOCKER_REMOVE, ENV_DUMP, SECRET_VARIABLE, SECRET_STORE, UNLISTED, UNTRUSTED_SOURCE,
    INSTALL_SCOPE, SYSTEM_PACKAGE, UNINSTALL, INLINE_PROCESS, INLINE_EVAL, INLINE_DELETE,
    INLINE_DELETE_OUTSIDE, SKIP_HOOKS, LOAD_TEST, FORK_BOMB, SAFETY_CONFIG_ENV, PRELOAD,
    FORGED_IDENTITY, PROD_ENV, MASKED_FAILURE, SKIPPED_TESTS, SELF_APPROVE, WAVE_DATABASE,
    DB_DESTROY, DB_DOWNGRADE, SCAN, FLOOD, REQUEST_LOOP, DOWNLOAD_RUN, GH_MERGE, GH_ADMIN,
    GH_API_WRITE, SCRIPT_OUTSIDE,
)  # fmt: skip
