using System.Globalization;
using System.Text;
using System.Text.Json;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// <c>supctl events</c>' lines. Text, with local time:
/// <code>
/// 2026-11-24T18:00:00.123+00:00 event started JOB=ticker INSTANCE=
/// 2026-11-24T18:00:00.120+00:00 state ticker start/running (from post-start)
/// 2026-11-24T18:00:01.500+00:00 dropped 37 (this watcher fell behind)
/// </code>
/// JSON (<c>--json</c>), one object per line, fields as documented in the README:
/// <c>{"seq":12,"time":"…","type":"event","name":"started","env":{"JOB":"ticker","INSTANCE":""}}</c>,
/// <c>{"seq":11,"time":"…","type":"state","job":"ticker","instance":"","goal":"start","from":"post-start","to":"running"}</c>,
/// <c>{"seq":40,"time":"…","type":"dropped","count":37}</c>.
/// </summary>
internal static class EventFormatter
{
    public static string Text(WatchEventsReply item)
    {
        var time = Time(item).ToString("yyyy-MM-ddTHH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
        return item.ItemCase switch
        {
            WatchEventsReply.ItemOneofCase.Event => item.Event.Env.Count == 0
                ? $"{time} event {item.Event.Name}"
                : $"{time} event {item.Event.Name} {string.Join(' ', item.Event.Env)}",
            WatchEventsReply.ItemOneofCase.StateChange =>
                $"{time} state {Name(item.StateChange)} {item.StateChange.Goal.Name()}/{item.StateChange.ToState.Name()} (from {item.StateChange.FromState.Name()})",
            WatchEventsReply.ItemOneofCase.Dropped => $"{time} dropped {item.Dropped} (this watcher fell behind)",
            _ => $"{time} unknown item",
        };
    }

    public static string Json(WatchEventsReply item) => JsonOutput.Line(json =>
        {
            json.WriteStartObject();
            json.WriteNumber("seq", item.Sequence);
            json.WriteString("time", Time(item).ToString("yyyy-MM-ddTHH:mm:ss.fffzzz", CultureInfo.InvariantCulture));
            switch (item.ItemCase)
            {
                case WatchEventsReply.ItemOneofCase.Event:
                    json.WriteString("type", "event");
                    json.WriteString("name", item.Event.Name);
                    json.WriteStartObject("env");
                    foreach (var variable in item.Event.Env)
                    {
                        var eq = variable.IndexOf('=', StringComparison.Ordinal);
                        json.WriteString(eq < 0 ? variable : variable[..eq], eq < 0 ? "" : variable[(eq + 1)..]);
                    }
                    json.WriteEndObject();
                    break;
                case WatchEventsReply.ItemOneofCase.StateChange:
                    json.WriteString("type", "state");
                    json.WriteString("job", item.StateChange.Job);
                    json.WriteString("instance", item.StateChange.Instance);
                    json.WriteString("goal", item.StateChange.Goal.Name());
                    json.WriteString("from", item.StateChange.FromState.Name());
                    json.WriteString("to", item.StateChange.ToState.Name());
                    break;
                case WatchEventsReply.ItemOneofCase.Dropped:
                    json.WriteString("type", "dropped");
                    json.WriteNumber("count", item.Dropped);
                    break;
                default:
                    json.WriteString("type", "unknown");
                    break;
            }
            json.WriteEndObject();
        });

    private static DateTimeOffset Time(WatchEventsReply item) => DateTimeOffset.FromUnixTimeMilliseconds(item.UnixMs).ToLocalTime();

    private static string Name(StateChange change) => change.Instance.Length == 0 ? change.Job : $"{change.Job} ({change.Instance})";
}
