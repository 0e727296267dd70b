"""Sums JUnit XML reports (and pytest summary lines from logs given with --pytest-log) into one
closing line: 'N passed, N failed, N skipped'."""
import re
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
args = sys.argv[1:]
while args:
    path = args.pop(0)
    if path == "--pytest-log":
        log = args.pop(0)
        try:
            text = open(log, errors="replace").read()
        except OSError as error:
            print(f"summary: cannot read {log}: {error}")
            failed += 1
            continue
        lines = [l for l in text.splitlines() if re.search(r"\d+ (passed|failed)", l) and " in " in l]
        if not lines:
            print(f"summary: no pytest result in {log}")
            failed += 1
        for line in lines:
            for count, word in re.findall(r"(\d+) (passed|failed|skipped|error)", line):
                if word == "passed":
                    passed += int(count)
                elif word == "skipped":
                    skipped += int(count)
                else:
                    failed += int(count)
        continue
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        print(f"summary: cannot read {path}: {error}")
        failed += 1
        continue
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
