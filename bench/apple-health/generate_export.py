#!/usr/bin/env python3
"""Writes a synthetic Apple Health export.xml of about SIZE megabytes for `healthgrpc import apple-health` throughput runs.

Same shape as a real export (DOCTYPE with internal DTD, Records with device strings and MetadataEntry children, HRV with
InstantaneousBeatsPerMinute, sleep categories, correlations, workouts, activity summaries); the test suite's generator
(tests/HealthGrpc.Cli.Tests/Import/AppleHealthExport.cs) covers every element kind, this one only needs the volume.
Usage: generate_export.py OUT.xml SIZE_MB
"""
import sys, datetime

out, size_mb = sys.argv[1], float(sys.argv[2])
limit = int(size_mb * 1024 * 1024)
watch = 'sourceName="Alice’s Apple Watch" sourceVersion="10.1" device="&lt;&lt;HKDevice: 0x283c9e580&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.1&gt;"'
phone = 'sourceName="Alice’s iPhone" sourceVersion="17.1" device="&lt;&lt;HKDevice: 0x283c9e5c0&gt;, name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1&gt;"'
start = datetime.datetime(2019, 1, 1, 0, 0, 0)
fmt = lambda t: t.strftime('%Y-%m-%d %H:%M:%S') + ' +0100'
# A beat's time of day as an en_US phone writes it (12-hour, hundredths): the import places it on the record's date.
beat = lambda t: f"{(t.hour % 12) or 12}:{t:%M:%S}.{t.microsecond // 10000:02d} {'AM' if t.hour < 12 else 'PM'}"
written = 0
with open(out, 'w', encoding='utf-8') as f:
    def w(s):
        global written
        f.write(s)
        written += len(s.encode('utf-8'))
    w('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>\n'
      '<!ATTLIST HealthData locale CDATA #REQUIRED>\n<!ELEMENT ExportDate EMPTY>\n<!ATTLIST ExportDate value CDATA #REQUIRED>\n<!ELEMENT Me EMPTY>\n'
      '<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>\n<!ATTLIST Record type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED '
      'sourceName CDATA #REQUIRED sourceVersion CDATA #IMPLIED device CDATA #IMPLIED creationDate CDATA #IMPLIED startDate CDATA #REQUIRED endDate CDATA #REQUIRED>\n'
      '<!ELEMENT MetadataEntry EMPTY>\n<!ATTLIST MetadataEntry key CDATA #REQUIRED value CDATA #REQUIRED>\n]>\n'
      '<HealthData locale="en_US">\n <ExportDate value="2026-12-01 10:00:00 +0100"/>\n <Me HKCharacteristicTypeIdentifierDateOfBirth="1985-04-12"/>\n')
    i = 0
    while written < limit:
        t = start + datetime.timedelta(seconds=30 * i)
        e = t + datetime.timedelta(seconds=30)
        k = i % 20
        if k < 12:
            w(f' <Record type="HKQuantityTypeIdentifierHeartRate" {watch} unit="count/min" creationDate="{fmt(e)}" startDate="{fmt(t)}" endDate="{fmt(t)}" value="{55 + i % 60}">\n'
              f'  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="{i % 2}"/>\n </Record>\n')
        elif k < 16:
            w(f' <Record type="HKQuantityTypeIdentifierStepCount" {phone} unit="count" creationDate="{fmt(e)}" startDate="{fmt(t)}" endDate="{fmt(e)}" value="{10 + i % 90}"/>\n')
        elif k < 18:
            w(f' <Record type="HKQuantityTypeIdentifierActiveEnergyBurned" {watch} unit="kcal" creationDate="{fmt(e)}" startDate="{fmt(t)}" endDate="{fmt(e)}" value="{(i % 50) / 10:.3f}"/>\n')
        elif k < 19:
            w(f' <Record type="HKQuantityTypeIdentifierDistanceWalkingRunning" {phone} unit="km" creationDate="{fmt(e)}" startDate="{fmt(t)}" endDate="{fmt(e)}" value="{(i % 40) / 1000:.4f}"/>\n')
        else:
            w(f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" {watch} unit="ms" creationDate="{fmt(e)}" startDate="{fmt(t)}" endDate="{fmt(e)}" value="{30 + i % 40}">\n'
              '  <HeartRateVariabilityMetadataList>\n' + ''.join(f'   <InstantaneousBeatsPerMinute bpm="{60 + j}" time="{beat(t + datetime.timedelta(milliseconds=1010 * j))}"/>\n' for j in range(5)) +
              '  </HeartRateVariabilityMetadataList>\n </Record>\n')
        i += 1
    w('</HealthData>\n')
print(f'{out}: {written / 1048576:.0f} MiB, {i} records')
