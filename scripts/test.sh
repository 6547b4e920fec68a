#!/usr/bin/env bash
# The whole test suite on a fresh machine (.NET 10 SDK, Node/npm, Debian with root):
# installs what the tests need, checks the contract, builds with zero warnings, runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "npm packages (buf, grpc-js vendor suite)"
# Exactly the versions in package-lock.json (buf, grpc-js, proto-loader), or fail.
npm ci --no-audit --no-fund --loglevel=error

step "contract: buf lint, format, breaking"
buf=node_modules/.bin/buf
"$buf" lint
"$buf" format --diff --exit-code
if git rev-parse --verify --quiet HEAD~1 >/dev/null; then
  "$buf" breaking --against '.git#ref=HEAD~1'
else
  echo "no previous commit to compare against (shallow or first commit): breaking check has no baseline"
fi

step "build (warnings are errors)"
dotnet build HealthGrpc.sln -c Release -nologo -clp:ErrorsOnly

step "tests"
results=$(mktemp -d)
status=0
# A throw-away PostgreSQL 15 (installed if missing) for the PostgreSQL provider's tests: HEALTHGRPC_TEST_PG.
scripts/with-postgres.sh dotnet test HealthGrpc.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" \
  --logger "console;verbosity=normal" || status=$?

# Failed tests by name with their first error lines (the console log can be cut), then one closing line for CI,
# summed over every test project's TRX report.
python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    root = ET.parse(path).getroot()
    c = root.find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error")) + int(c.get("timeout")) + int(c.get("aborted"))
    skipped += int(c.get("notExecuted"))
    for r in root.iterfind("t:Results/t:UnitTestResult", ns):
        if r.get("outcome") != "Failed":
            continue
        message = r.findtext("t:Output/t:ErrorInfo/t:Message", default="", namespaces=ns).strip()
        stack = r.findtext("t:Output/t:ErrorInfo/t:StackTrace", default="", namespaces=ns).strip()
        print(f"\nFAILED {r.get('testName')} ({r.get('duration')})")
        for line in (message.splitlines()[:15] + stack.splitlines()[:8]):
            print("    " + line)
print(f"\ntests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
