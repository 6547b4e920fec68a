using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace HealthGrpc.Cli.Tests.Import;

/// <summary>
/// Writes an Apple Health export.xml in the format the Health app writes: a DOCTYPE with an internal DTD, ExportDate and Me,
/// Records (quantities with units and MetadataEntry children, sleep categories as strings, HRV with
/// InstantaneousBeatsPerMinute, types this server does not know), blood-pressure Correlations nesting the Records that also
/// appear at the top level, Workouts with statistics, events and routes, ActivitySummaries. It tracks what a correct import
/// must store: the distinct valid samples per protocol type (numbers of DataType), and how many of each row it wrote.
/// </summary>
internal sealed class AppleHealthExport
{
    private const string Dtd = """
        <!DOCTYPE HealthData [
        <!-- HealthKit Export Version: 14 -->
        <!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>
        <!ATTLIST HealthData
          locale CDATA #REQUIRED
        >
        <!ELEMENT ExportDate EMPTY>
        <!ATTLIST ExportDate
          value CDATA #REQUIRED
        >
        <!ELEMENT Me EMPTY>
        <!ATTLIST Me
          HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
          HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
          HKCharacteristicTypeIdentifierBloodType           CDATA #REQUIRED
          HKCharacteristicTypeIdentifierFitzpatrickSkinType CDATA #REQUIRED
          HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse CDATA #IMPLIED
        >
        <!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
        <!ATTLIST Record
          type          CDATA #REQUIRED
          unit          CDATA #IMPLIED
          value         CDATA #IMPLIED
          sourceName    CDATA #REQUIRED
          sourceVersion CDATA #IMPLIED
          device        CDATA #IMPLIED
          creationDate  CDATA #IMPLIED
          startDate     CDATA #REQUIRED
          endDate       CDATA #REQUIRED
        >
        <!-- Note: Any Records that appear as children of a correlation also appear as top-level records in this document. -->
        <!ELEMENT Correlation ((MetadataEntry|Record)*)>
        <!ATTLIST Correlation
          type          CDATA #REQUIRED
          sourceName    CDATA #REQUIRED
          sourceVersion CDATA #IMPLIED
          device        CDATA #IMPLIED
          creationDate  CDATA #IMPLIED
          startDate     CDATA #REQUIRED
          endDate       CDATA #REQUIRED
        >
        <!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
        <!ATTLIST Workout
          workoutActivityType   CDATA #REQUIRED
          duration              CDATA #IMPLIED
          durationUnit          CDATA #IMPLIED
          totalDistance         CDATA #IMPLIED
          totalDistanceUnit     CDATA #IMPLIED
          totalEnergyBurned     CDATA #IMPLIED
          totalEnergyBurnedUnit CDATA #IMPLIED
          sourceName            CDATA #REQUIRED
          sourceVersion         CDATA #IMPLIED
          device                CDATA #IMPLIED
          creationDate          CDATA #IMPLIED
          startDate             CDATA #REQUIRED
          endDate               CDATA #REQUIRED
        >
        <!ELEMENT WorkoutEvent ((MetadataEntry)*)>
        <!ATTLIST WorkoutEvent
          type         CDATA #REQUIRED
          date         CDATA #REQUIRED
          duration     CDATA #IMPLIED
          durationUnit CDATA #IMPLIED
        >
        <!ELEMENT WorkoutStatistics EMPTY>
        <!ATTLIST WorkoutStatistics
          type      CDATA #REQUIRED
          startDate CDATA #REQUIRED
          endDate   CDATA #REQUIRED
          average   CDATA #IMPLIED
          minimum   CDATA #IMPLIED
          maximum   CDATA #IMPLIED
          sum       CDATA #IMPLIED
          unit      CDATA #IMPLIED
        >
        <!ELEMENT WorkoutRoute ((MetadataEntry|FileReference)*)>
        <!ATTLIST WorkoutRoute
          sourceName    CDATA #REQUIRED
          sourceVersion CDATA #IMPLIED
          device        CDATA #IMPLIED
          creationDate  CDATA #IMPLIED
          startDate     CDATA #REQUIRED
          endDate       CDATA #REQUIRED
        >
        <!ELEMENT FileReference EMPTY>
        <!ATTLIST FileReference
          path CDATA #REQUIRED
        >
        <!ELEMENT ActivitySummary EMPTY>
        <!ATTLIST ActivitySummary
          dateComponents           CDATA #IMPLIED
          activeEnergyBurned       CDATA #IMPLIED
          activeEnergyBurnedGoal   CDATA #IMPLIED
          activeEnergyBurnedUnit   CDATA #IMPLIED
          appleExerciseTime        CDATA #IMPLIED
          appleExerciseTimeGoal    CDATA #IMPLIED
          appleStandHours          CDATA #IMPLIED
          appleStandHoursGoal      CDATA #IMPLIED
        >
        <!ELEMENT MetadataEntry EMPTY>
        <!ATTLIST MetadataEntry
          key   CDATA #REQUIRED
          value CDATA #REQUIRED
        >
        <!ELEMENT HeartRateVariabilityMetadataList ((InstantaneousBeatsPerMinute)*)>
        <!ELEMENT InstantaneousBeatsPerMinute EMPTY>
        <!ATTLIST InstantaneousBeatsPerMinute
          bpm  CDATA #REQUIRED
          time CDATA #REQUIRED
        >
        ]>
        """;

    private readonly StringBuilder _body = new();
    private readonly Dictionary<int, HashSet<string>> _distinct = [];
    private readonly DateTimeOffset _origin;
    private int _address;

    /// <param name="origin">Time of the first record; later ones follow a minute apart (keep it in the past: the server refuses the future).</param>
    /// <param name="exportDate">The ExportDate (two exports of the same phone differ in it).</param>
    /// <param name="addressSeed">First HKDevice object address: a later export of the same phone prints other addresses.</param>
    public AppleHealthExport(DateTimeOffset origin, string exportDate, int addressSeed = 0)
    {
        _origin = origin;
        ExportDate = exportDate;
        _address = addressSeed;
    }

    public string ExportDate { get; }

    /// <summary>Distinct valid samples written, per protocol DataType number: what the store must hold after importing this export.</summary>
    public IReadOnlyDictionary<int, int> DistinctSamples => _distinct.ToDictionary(p => p.Key, p => p.Value.Count);

    /// <summary>Records and Workouts written (nested ones included): the import's "read" over the sendable elements.</summary>
    public int Entries { get; private set; }

    /// <summary>Records refused by the server by design (a heart rate of 400).</summary>
    public int OutOfRange { get; private set; }

    /// <summary>Records written twice with the same content (the nested copies of correlations, and exact repeats).</summary>
    public int Repeats { get; private set; }

    /// <summary>InstantaneousBeatsPerMinute elements written: the points the stored beat series must hold.</summary>
    public int BeatsPerMinute { get; private set; }

    /// <summary>HRV records with beats, each a distinct beat series (one crosses midnight every week).</summary>
    public int BeatSeries { get; private set; }

    public int UnknownTypeRecords { get; private set; }

    public int ActivitySummaries { get; private set; }

    public int WorkoutStatistics { get; private set; }

    /// <summary>Appends <paramref name="days"/> days of data (from day <paramref name="firstDay"/>): about 150 records a day.</summary>
    public AppleHealthExport AddDays(int firstDay, int days)
    {
        for (var day = firstDay; day < firstDay + days; day++)
        {
            var start = _origin.AddDays(day);
            var zone = day % 3 == 0 ? "-0500" : "+0100";
            for (var i = 0; i < 96; i++)
            {
                var t = start.AddMinutes(i * 15);
                var motion = (i % 2).ToString(CultureInfo.InvariantCulture);
                Record(1, "HKQuantityTypeIdentifierHeartRate", "count/min", (55 + ((day * 7) + i) % 60).ToString(CultureInfo.InvariantCulture), t, t, zone, Watch, ("HKMetadataKeyHeartRateMotionContext", motion));
                if (i % 4 == 0)
                {
                    Record(4, "HKQuantityTypeIdentifierStepCount", "count", (100 + i).ToString(CultureInfo.InvariantCulture), t, t.AddMinutes(10), zone, Phone);
                }

                if (i % 8 == 0)
                {
                    Record(5, "HKQuantityTypeIdentifierDistanceWalkingRunning", "km", (0.1 + (i / 100.0)).ToString("0.000", CultureInfo.InvariantCulture), t, t.AddMinutes(10), zone, Phone);
                    Record(6, "HKQuantityTypeIdentifierActiveEnergyBurned", day % 2 == 0 ? "kcal" : "Cal", (5.5 + i).ToString("0.0", CultureInfo.InvariantCulture), t, t.AddMinutes(10), zone, Watch);
                    Record(7, "HKQuantityTypeIdentifierBasalEnergyBurned", "kcal", "10.25", t, t.AddMinutes(15), zone, Watch);
                    Record(null, "HKQuantityTypeIdentifierEnvironmentalAudioExposure", "dBASPL", "61.2", t, t.AddMinutes(15), zone, Phone);
                    UnknownTypeRecords++;
                }
            }

            var morning = start.AddHours(6);
            Record(3, "HKQuantityTypeIdentifierRestingHeartRate", "count/min", "58", morning, morning, zone, Watch);
            Record(8, "HKQuantityTypeIdentifierAppleExerciseTime", "min", "32", morning, morning.AddMinutes(32), zone, Watch);
            Record(11, "HKQuantityTypeIdentifierOxygenSaturation", "%", "0.97", morning, morning, zone, Watch);
            Record(14, "HKQuantityTypeIdentifierBodyMass", "kg", (72.4 + (day % 5 / 10.0)).ToString("0.0", CultureInfo.InvariantCulture), morning, morning, zone, Scale);
            Record(16, "HKQuantityTypeIdentifierBloodGlucose", "mmol<180.1558800000541>/L", "5.4", morning, morning, zone, Manual);
            Record(17, "HKQuantityTypeIdentifierRespiratoryRate", "count/min", "14.5", morning, morning, zone, Watch);
            Record(null, "HKCategoryTypeIdentifierMindfulSession", null, "HKCategoryValueNotApplicable", morning, morning.AddMinutes(5), zone, Phone);
            UnknownTypeRecords++;
            foreach (var (stage, minutes) in new[] { ("HKCategoryValueSleepAnalysisInBed", 0), ("HKCategoryValueSleepAnalysisAsleepCore", 10), ("HKCategoryValueSleepAnalysisAsleepDeep", 100), ("HKCategoryValueSleepAnalysisAsleepREM", 160), ("HKCategoryValueSleepAnalysisAwake", 220) })
            {
                var s = start.AddMinutes(minutes - 120);
                Record(9, "HKCategoryTypeIdentifierSleepAnalysis", null, stage, s, s.AddMinutes(50), zone, Watch);
            }

            Hrv(morning.AddMinutes(5), zone);
            if (day % 7 == 1)
            {
                // A reading that starts before local midnight: its later beats' times of day are on the next date.
                var offset = Offset(zone);
                Hrv(new DateTimeOffset(start.ToOffset(offset).Date, offset).AddSeconds(-2), zone);
            }

            BloodPressure(morning.AddMinutes(20), zone, 118 + (day % 7), 76 + (day % 5));
            Workout(start.AddHours(18), zone);
            _body.Append(CultureInfo.InvariantCulture, $"""
                 <ActivitySummary dateComponents="{start:yyyy-MM-dd}" activeEnergyBurned="450.2" activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="Cal" appleExerciseTime="32" appleExerciseTimeGoal="30" appleStandHours="11" appleStandHoursGoal="12"/>

                """);
            ActivitySummaries++;

            // A glitch the server refuses (heart rate 400), and a record the watch wrote twice.
            Record(1, "HKQuantityTypeIdentifierHeartRate", "count/min", "400", start.AddMinutes(3), start.AddMinutes(3), zone, Watch, outOfRange: true);
            var again = start.AddMinutes(7);
            Record(4, "HKQuantityTypeIdentifierStepCount", "count", "33", again, again.AddMinutes(1), zone, Phone);
            Record(4, "HKQuantityTypeIdentifierStepCount", "count", "33", again, again.AddMinutes(1), zone, Phone);
        }

        return this;
    }

    public string Xml() => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        {Dtd}
        <HealthData locale="en_US">
         <ExportDate value="{ExportDate}"/>
         <Me HKCharacteristicTypeIdentifierDateOfBirth="1985-04-12" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>
        {_body}</HealthData>

        """;

    public string WriteXml(string path)
    {
        File.WriteAllText(path, Xml(), new UTF8Encoding(false));
        return path;
    }

    /// <summary>An export.zip as the Health app writes it: apple_health_export/export.xml (and export_cda.xml, not read).</summary>
    public string WriteZip(string path)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var writer = new StreamWriter(zip.CreateEntry("apple_health_export/export_cda.xml").Open(), new UTF8Encoding(false)))
        {
            writer.Write("<?xml version=\"1.0\"?><ClinicalDocument/>");
        }

        using (var writer = new StreamWriter(zip.CreateEntry("apple_health_export/export.xml").Open(), new UTF8Encoding(false)))
        {
            writer.Write(Xml());
        }

        return path;
    }

    private static (string Name, string Device) Watch => ("Alice’s Apple Watch", "name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.1");

    private static (string Name, string Device) Phone => ("Alice’s iPhone", "name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1");

    private static (string Name, string Device) Scale => ("Withings", "name:Body+, manufacturer:Withings, model:WBS05");

    private static (string Name, string Device) Manual => ("Health", "");

    private static string Time(DateTimeOffset t, string zone) =>
        t.ToOffset(Offset(zone)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " " + zone;

    private static TimeSpan Offset(string zone) => TimeSpan.FromHours(zone == "-0500" ? -5 : 1);

    /// <summary>HKDevice's debug string: its object address differs in every export (the import must not hash it).</summary>
    private string DeviceAttribute((string Name, string Device) source) =>
        source.Device.Length == 0 ? string.Empty : $" device=\"&lt;&lt;HKDevice: 0x{0x280000000L + (_address++ * 0x40):x}&gt;, {source.Device}&gt;\"";

    private void Record(int? type, string hkType, string? unit, string value, DateTimeOffset start, DateTimeOffset end, string zone, (string Name, string Device) source,
        (string Key, string Value)? metadata = null, bool outOfRange = false, bool nested = false)
    {
        var unitAttribute = unit is null ? string.Empty : $" unit=\"{System.Security.SecurityElement.Escape(unit)}\"";
        var open = $"""{(nested ? "  " : " ")}<Record type="{hkType}" sourceName="{source.Name}" sourceVersion="10.1"{DeviceAttribute(source)}{unitAttribute} creationDate="{Time(end, zone)}" startDate="{Time(start, zone)}" endDate="{Time(end, zone)}" value="{value}" """;
        if (metadata is { } m)
        {
            _body.Append(open).Append(">\n").Append(CultureInfo.InvariantCulture, $"""   <MetadataEntry key="{m.Key}" value="{m.Value}"/>""").Append("\n </Record>\n");
        }
        else
        {
            _body.Append(open).Append("/>\n");
        }

        Entries++;
        if (outOfRange)
        {
            OutOfRange++;
        }
        else if (type is { } t && !Distinct(t).Add($"{start.ToUnixTimeMilliseconds()}|{end.ToUnixTimeMilliseconds()}|{value}|{source.Name}"))
        {
            Repeats++;
        }
    }

    private HashSet<string> Distinct(int type) => _distinct.TryGetValue(type, out var set) ? set : _distinct[type] = [];

    private void Hrv(DateTimeOffset t, string zone)
    {
        _body.Append(CultureInfo.InvariantCulture, $"""
             <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="{Watch.Name}" sourceVersion="10.1"{DeviceAttribute(Watch)} unit="ms" creationDate="{Time(t.AddMinutes(1), zone)}" startDate="{Time(t, zone)}" endDate="{Time(t.AddMinutes(1), zone)}" value="41.5">
              <HeartRateVariabilityMetadataList>

            """);
        for (var i = 0; i < 5; i++)
        {
            // As a phone in an en_US locale writes them: the time of day only, 12-hour, hundredths of a second.
            var beat = t.AddMilliseconds(i * 1310).ToOffset(Offset(zone)).ToString("h:mm:ss.ff tt", CultureInfo.InvariantCulture);
            _body.Append(CultureInfo.InvariantCulture, $"""
                   <InstantaneousBeatsPerMinute bpm="{62 + i}" time="{beat}"/>

                """);
        }

        _body.Append("  </HeartRateVariabilityMetadataList>\n </Record>\n");
        Entries++;
        BeatsPerMinute += 5;
        BeatSeries++;
        Distinct(2).Add($"{t.ToUnixTimeMilliseconds()}");
    }

    private void BloodPressure(DateTimeOffset t, string zone, int systolic, int diastolic)
    {
        var s = systolic.ToString(CultureInfo.InvariantCulture);
        var d = diastolic.ToString(CultureInfo.InvariantCulture);
        var monitor = ("Omron", "name:BP7000, manufacturer:Omron, model:BP7000");
        Record(12, "HKQuantityTypeIdentifierBloodPressureSystolic", "mmHg", s, t, t, zone, monitor);
        Record(13, "HKQuantityTypeIdentifierBloodPressureDiastolic", "mmHg", d, t, t, zone, monitor);
        _body.Append(CultureInfo.InvariantCulture, $"""
             <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" sourceVersion="1"{DeviceAttribute(monitor)} creationDate="{Time(t, zone)}" startDate="{Time(t, zone)}" endDate="{Time(t, zone)}">
              <MetadataEntry key="HKWasUserEntered" value="0"/>

            """);
        Record(13, "HKQuantityTypeIdentifierBloodPressureDiastolic", "mmHg", d, t, t, zone, monitor, nested: true);
        Record(12, "HKQuantityTypeIdentifierBloodPressureSystolic", "mmHg", s, t, t, zone, monitor, nested: true);
        _body.Append(" </Correlation>\n");
    }

    private void Workout(DateTimeOffset t, string zone)
    {
        var end = t.AddMinutes(31);
        _body.Append(CultureInfo.InvariantCulture, $"""
             <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="31" durationUnit="min" sourceName="{Watch.Name}" sourceVersion="10.1"{DeviceAttribute(Watch)} creationDate="{Time(end, zone)}" startDate="{Time(t, zone)}" endDate="{Time(end, zone)}">
              <MetadataEntry key="HKIndoorWorkout" value="0"/>
              <MetadataEntry key="HKTimeZone" value="Europe/Paris"/>
              <WorkoutEvent type="HKWorkoutEventTypeSegment" date="{Time(t, zone)}" duration="10" durationUnit="min"/>
              <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" startDate="{Time(t, zone)}" endDate="{Time(end, zone)}" sum="312.5" unit="Cal"/>
              <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="{Time(t, zone)}" endDate="{Time(end, zone)}" average="151" minimum="120" maximum="171" unit="count/min"/>
              <WorkoutRoute sourceName="{Watch.Name}" sourceVersion="10.1" creationDate="{Time(end, zone)}" startDate="{Time(t, zone)}" endDate="{Time(end, zone)}">
               <FileReference path="/workout-routes/route_{t:yyyy-MM-dd_HH.mm}.gpx"/>
              </WorkoutRoute>
             </Workout>

            """);
        Entries++;
        WorkoutStatistics += 2;
        Distinct(18).Add($"{t.ToUnixTimeMilliseconds()}");
    }
}
