"""Live systems: cloud and cluster CLIs, infrastructure tools, GitHub, Docker and Ansible.

Reading a live system is allowed and noted; changing it is blocked and deleting from it is
CRITICAL, because others see the change at once and no worktree holds it. A verb the layer
cannot classify is escalated, so an unknown action is never waved through. Reads of a cloud's
secrets and tokens are judged here too, where their CLI is understood.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    DOCKER_DATA,
    DOCKER_REMOVE,
    GH_ADMIN,
    GH_API_WRITE,
    GH_MERGE,
    NAMESPACE,
    PROD_CHANGE,
    PROD_DESTROY,
    PROD_OTHER,
    PROD_READ,
    PUBLISH,
    SECRET_STORE,
)
from wave_tui.safety.rules.execution.common import Args, Checker, show, split_args, table, word_set
from wave_tui.safety.shell import SimpleCommand


@dataclass(frozen=True, slots=True)
class _Verbs:
    """How a production CLI's verb (its first operand unless said otherwise) is classified."""

    read: frozenset[str]
    change: frozenset[str]
    destroy: frozenset[str] = frozenset()
    takes_value: frozenset[str] = frozenset()


_KUBE = _Verbs(
    read=word_set("get describe logs top explain version api-resources api-versions cluster-info")
    | word_set("config auth diff wait events completion plugin kustomize"),
    change=word_set("apply create scale edit patch set label annotate replace run expose autoscale")
    | word_set("cordon uncordon exec cp attach certificate taint rollout debug port-forward proxy"),
    destroy=word_set("delete drain"),
    takes_value=word_set("-n --namespace --context --cluster --kubeconfig --user -s --server -o")
    | word_set("-l --selector -f --filename -c --container --as"),
)
_HELM = _Verbs(
    read=word_set("list ls status template lint show get history search repo version env")
    | word_set("dependency package pull verify completion"),
    change=word_set("install upgrade rollback"),
    destroy=word_set("uninstall delete del un"),
    takes_value=word_set("-n --namespace --kube-context --kubeconfig -f --values --set --version"),
)
_TERRAFORM = _Verbs(
    read=word_set("plan validate fmt init show output providers version graph console get")
    | word_set("workspace login logout modules metadata test"),
    change=word_set("apply import taint untaint state force-unlock refresh"),
    destroy=word_set("destroy"),
)
_PULUMI = _Verbs(
    read=word_set("preview whoami version about logs login logout plugin schema"),
    change=word_set("up update refresh import cancel watch"),
    destroy=word_set("destroy"),
    takes_value=word_set("-s --stack -C --cwd"),
)
_HEROKU = _Verbs(
    read=word_set("apps info logs ps releases config domains addons auth:whoami login whoami"),
    change=word_set("config:set config:unset ps:scale ps:restart restart releases:rollback deploy")
    | word_set("run git:push maintenance:on maintenance:off pg:promote ps:kill"),
    destroy=word_set("apps:destroy pg:reset addons:destroy destroy"),
    takes_value=word_set("-a --app -r --remote"),
)
_FLY = _Verbs(
    read=word_set("status logs info version auth platform ips doctor config"),
    change=word_set("deploy scale secrets launch restart ssh machine machines volumes"),
    destroy=word_set("destroy"),
    takes_value=word_set("-a --app -c --config"),
)
_CLOUD_VERBS = _Verbs(  # gcloud and az: the verb is the first operand in one of these sets
    read=word_set("list describe show get get-iam-policy info version account config auth wait")
    | word_set("get-credentials read browse logs"),
    change=word_set("create deploy update set add-iam-policy-binding patch resize start stop")
    | word_set("restart apply import scale ssh scp attach detach upload submit publish")
    | word_set("reset-windows-password rollback enable disable execute invoke"),
    destroy=word_set("delete destroy remove purge rm"),
    takes_value=word_set("--project --zone --region --format --account -g --resource-group")
    | word_set("--subscription -n --name --location --output -o --filter --query"),
)
_SERVERLESS = _Verbs(
    read=word_set("info logs print package metrics help offline doctor login"),
    change=word_set("deploy invoke rollback"),
    destroy=word_set("remove"),
    takes_value=word_set("--stage -s --region -r --config -c --aws-profile --function -f"),
)
_PROD_CLIS: dict[str, _Verbs] = {
    "kubectl": _KUBE,
    "oc": _KUBE,
    "helm": _HELM,
    "terraform": _TERRAFORM,
    "tofu": _TERRAFORM,
    "terragrunt": _TERRAFORM,
    "pulumi": _PULUMI,
    "heroku": _HEROKU,
    "fly": _FLY,
    "flyctl": _FLY,
    "serverless": _SERVERLESS,
    "sls": _SERVERLESS,
}


def _classify(cmd: SimpleCommand, verb: str, verbs: _Verbs) -> list[Finding]:
    args = split_args(cmd.argv[1:], verbs.takes_value)
    dry_run = args.has("--dry-run") and not set(args.value("--dry-run")) & {"none", "false"}
    if dry_run or args.has("--help"):
        return [PROD_READ.finding(show(cmd))]
    if verb in verbs.destroy or (verb == "apply" and args.has("-destroy", "--destroy")):
        return [PROD_DESTROY.finding(show(cmd))]
    if verb == "rollout" and set(args.operands[1:2]) & {"status", "history"}:
        return [PROD_READ.finding(show(cmd))]
    if verb in verbs.change:
        return [PROD_CHANGE.finding(show(cmd))]
    if verb in verbs.read or args.has("--version"):
        return [PROD_READ.finding(show(cmd))]
    return [PROD_OTHER.finding(show(cmd))]


def _prod_cli(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    verbs = _PROD_CLIS[cmd.program]
    operands = split_args(cmd.argv[1:], verbs.takes_value).operands
    if cmd.program in ("kubectl", "oc") and _reads_kube_secret(cmd, operands):
        return [SECRET_STORE.finding(show(cmd))]
    if cmd.program == "pulumi" and operands[:2] == ("stack", "rm"):
        return [PROD_DESTROY.finding(show(cmd))]
    return _classify(cmd, operands[0] if operands else "", verbs)


def _reads_kube_secret(cmd: SimpleCommand, operands: Sequence[str]) -> bool:
    kinds = {o.split("/")[0] for o in operands[1:]}
    revealing = any(a in ("-o", "--output") or a.startswith(("-o", "--output=")) for a in cmd.argv)
    return operands[:1] == ("get",) and bool(kinds & {"secret", "secrets"}) and revealing


_CLOUD_SECRET_READS = (
    ("secrets", "versions", "access"),
    ("auth", "print-access-token"),
    ("auth", "print-identity-token"),
    ("keyvault", "secret", "show"),
    ("keyvault", "secret", "download"),
    ("account", "get-access-token"),
)


def _gcloud_az(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands = split_args(cmd.argv[1:], _CLOUD_VERBS.takes_value).operands
    joined = " ".join(operands)
    if any(" ".join(path) in joined for path in _CLOUD_SECRET_READS):
        return [SECRET_STORE.finding(show(cmd))]
    known = _CLOUD_VERBS.read | _CLOUD_VERBS.change | _CLOUD_VERBS.destroy
    verb = next((o for o in operands if o in known), "")
    return _classify(cmd, verb, _CLOUD_VERBS)


_AWS_BOOLEANS = word_set("--debug --no-paginate --no-verify-ssl --no-sign-request --recursive")
_AWS_BOOLEANS |= word_set("--dryrun --dry-run --force --quiet --no-cli-pager --delete --summarize")
_AWS_BOOLEANS |= word_set("--human-readable --only-show-errors --exact-timestamps")
_AWS_BOOLEANS |= word_set("--with-decryption")
_AWS_READ = re.compile(r"^(describe|list|get|head|lookup|search|scan|query|batch-get|filter)")
_AWS_READ_OPS = word_set("wait help ls presign estimate simulate validate test")
_AWS_DESTROY = re.compile(r"^(delete|terminate|remove|deregister|purge|destroy|rb$|rm$)")
_AWS_CHANGE = re.compile(
    r"^(put|create|update|modify|run|start|stop|reboot|attach|detach|invoke|publish|send|deploy"
    r"|register|tag|untag|set|enable|disable|associate|disassociate|import|restore|copy|reset"
    r"|revoke|authorize|apply|mb$|cp$|mv$|sync$|upload|replace|execute|cancel|rotate|promote)"
)
_AWS_SECRET_READS = {("secretsmanager", "get-secret-value"), ("configure", "export-credentials")}
_AWS_SECRET_READS |= {("sts", "get-session-token"), ("sts", "assume-role")}
_AWS_SECRET_READS |= {("sts", "get-federation-token"), ("ecr", "get-login-password")}
_AWS_SECRET_READS |= {("codeartifact", "get-authorization-token")}


def _aws(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    operands: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            i += 1 if "=" in arg or arg in _AWS_BOOLEANS else 2
            continue
        operands.append(arg)
        i += 1
    service, op = [*operands, "", ""][:2]
    decrypting = service == "ssm" and op.startswith("get-parameter") and "--with-decryption" in args
    if (service, op) in _AWS_SECRET_READS or decrypting:
        return [SECRET_STORE.finding(show(cmd))]
    if "--dry-run" in args or "--dryrun" in args:
        return [PROD_READ.finding(show(cmd))]
    if service == "s3" and op in ("cp", "mv", "sync"):
        to_bucket = bool(operands) and operands[-1].startswith("s3://")
        if not to_bucket:
            return [PROD_READ.finding(show(cmd))]  # a download changes nothing up there
        if op == "sync" and "--delete" in args:
            return [PROD_DESTROY.finding(show(cmd))]
    if _AWS_DESTROY.match(op):
        return [PROD_DESTROY.finding(show(cmd))]
    if _AWS_READ.match(op) or op in _AWS_READ_OPS or service in ("sts", "help", ""):
        return [PROD_READ.finding(show(cmd))]
    if _AWS_CHANGE.match(op):
        return [PROD_CHANGE.finding(show(cmd))]
    return [PROD_OTHER.finding(show(cmd))]


def _vercel_netlify(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], frozenset({"--scope", "--token", "-t", "--site"}))
    verb = args.operands[0] if args.operands else ""
    if verb in {"rm", "remove", "delete"}:
        return [PROD_DESTROY.finding(show(cmd))]
    if args.has("--prod", "--production"):
        return [PROD_CHANGE.finding(show(cmd))]
    if verb in {"ls", "list", "logs", "inspect", "whoami", "status", "login", "dev", "build"}:
        return [PROD_READ.finding(show(cmd))]
    return [PROD_OTHER.finding(show(cmd))]  # a preview deploy: public, but not production


_GH_VALUES = word_set("-R --repo -X --method -f -F --field --raw-field -H --header --input -q")
_GH_VALUES |= word_set("--jq -t --template -p --preview --cache")
_GH_PROTECTED = re.compile(r"/(protection|rulesets?|collaborators|keys|hooks|actions/secrets)\b")


def _gh(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], _GH_VALUES)
    operands = args.operands
    pair = tuple(operands[:2])
    if pair in {("release", "create"), ("release", "upload")}:
        return [PUBLISH.finding(show(cmd))]
    if pair in {("release", "delete"), ("repo", "delete")}:
        return [PROD_DESTROY.finding(show(cmd))]
    if pair == ("auth", "token"):
        return [SECRET_STORE.finding(show(cmd))]
    if pair == ("pr", "merge"):
        rule = GH_ADMIN if args.has("--admin") else GH_MERGE
        return [rule.finding(show(cmd))]
    if operands[:1] == ("api",) and len(operands) > 1:
        return _gh_api(cmd, args, operands[1])
    return []


def _gh_api(cmd: SimpleCommand, args: Args, endpoint: str) -> list[Finding]:
    """`gh api` changes what it is sent to unless it only reads (GET, or a GraphQL query)."""
    methods = [m.upper() for m in args.value("-X", "--method")]
    fields = args.value("-f", "-F", "--field", "--raw-field", "--input")
    method = methods[-1] if methods else ("POST" if fields else "GET")
    if method in ("GET", "HEAD") or (endpoint == "graphql" and "mutation" not in str(fields)):
        return []
    rule = GH_ADMIN if _GH_PROTECTED.search(f"/{endpoint}") else GH_API_WRITE
    return [rule.finding(show(cmd))]


_DOCKER_VALUES = word_set("-H --host --context -c --config -l --log-level -f --file -p")
_DOCKER_VALUES |= word_set("--project-name --profile --env-file")
_HOST_ESCAPE = re.compile(r"^(--privileged|--pid=host|--userns=host|--cap-add=(ALL|SYS_ADMIN))$")
_HOST_ROOT_MOUNT = re.compile(r"^(--volume=|--mount=)?(/:|type=bind,(source|src)=/,)")


def _docker(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], _DOCKER_VALUES)
    words = list(args.operands)
    if cmd.program == "docker-compose":
        words.insert(0, "compose")
    if words[:1] == ["container"]:
        words = words[1:]  # `docker container rm` is `docker rm`
    verb, rest = (words[0] if words else ""), words[1:]
    if verb == "push" or words[:2] == ["image", "push"]:
        return [PUBLISH.finding(show(cmd))]
    if verb in ("run", "create") and _escapes_to_host(cmd.argv):
        return [NAMESPACE.finding(show(cmd))]
    volumes_gone = verb == "compose" and "down" in rest and args.has("-v", "--volumes")
    if volumes_gone or tuple(words[:2]) in {("volume", "rm"), ("volume", "prune")}:
        return [DOCKER_DATA.finding(show(cmd))]
    if tuple(words[:2]) == ("system", "prune"):
        return [DOCKER_DATA.finding(show(cmd))]
    if verb == "rm" or (verb == "prune" and cmd.argv[1:2] == ("container",)):
        return [DOCKER_REMOVE.finding(show(cmd))]
    return []


def _escapes_to_host(argv: Sequence[str]) -> bool:
    """`--privileged`, the host's pid namespace, or `/` mounted into the container."""
    mounts = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-v", "--volume", "--mount")]
    return any(_HOST_ESCAPE.match(a) or _HOST_ROOT_MOUNT.match(a) for a in [*argv, *mounts])


def _ansible(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """ansible-playbook and ad hoc `ansible` change the hosts of their inventory."""
    args = set(cmd.argv[1:])
    if args & {"--check", "-C", "--syntax-check", "--list-hosts", "--list-tasks", "--version"}:
        return [PROD_READ.finding(show(cmd))]
    if cmd.program == "ansible" and args & {"ping", "setup"} and args & {"-m", "--module-name"}:
        return [PROD_READ.finding(show(cmd))]
    return [PROD_CHANGE.finding(show(cmd))] if len(cmd.argv) > 1 else []


# The programs this module judges, by name.
CHECKERS: dict[str, Checker] = {
    **table(_prod_cli, " ".join(_PROD_CLIS)),
    **table(_gcloud_az, "gcloud az"),
    "aws": _aws,
    **table(_vercel_netlify, "vercel netlify"),
    "gh": _gh,
    **table(_docker, "docker podman docker-compose"),
    **table(_ansible, "ansible ansible-playbook"),
}
