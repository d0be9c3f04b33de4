using System.Globalization;
using NCrontab;

namespace AccountFunctions.LocalHost;

/// <summary>A timer trigger schedule: NCrontab with seconds (6 fields) or without (5 fields), or a
/// constant interval written as a TimeSpan (<c>hh:mm:ss</c>). Times are UTC.</summary>
internal sealed class TimerSchedule
{
    private readonly CrontabSchedule? _cron;
    private readonly TimeSpan _interval;

    private TimerSchedule(CrontabSchedule? cron, TimeSpan interval)
    {
        _cron = cron;
        _interval = interval;
    }

    public static TimerSchedule Parse(string text)
    {
        text = text.Trim();
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is 5 or 6)
        {
            var cron = CrontabSchedule.TryParse(text, new CrontabSchedule.ParseOptions { IncludingSeconds = fields.Length == 6 });
            if (cron is not null) return new TimerSchedule(cron, default);
        }
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var ts) && ts > TimeSpan.Zero)
            return new TimerSchedule(null, ts);
        throw new FormatException($"The schedule expression '{text}' was not recognized as a valid cron expression or timespan string.");
    }

    public DateTime GetNext(DateTime afterUtc) =>
        _cron is not null ? DateTime.SpecifyKind(_cron.GetNextOccurrence(afterUtc), DateTimeKind.Utc) : afterUtc + _interval;
}
