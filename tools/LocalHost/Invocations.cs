using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace AccountFunctions.LocalHost;

/// <summary>Builds InvocationRequests as Azure's host fills them.</summary>
internal static class Invocations
{
    public static InvocationRequest Create(HostFunction function, string invocationId, string methodName)
    {
        var request = new InvocationRequest
        {
            FunctionId = function.FunctionId,
            InvocationId = invocationId,
            TraceContext = TraceContext(function.Name),
        };
        // Azure adds the "sys" binding data to every invocation.
        request.TriggerMetadata["sys"] = Json(new Dictionary<string, object>
        {
            ["MethodName"] = methodName,
            ["UtcNow"] = DateTime.UtcNow.ToString("O"),
            ["RandGuid"] = Guid.NewGuid().ToString(),
        });
        return request;
    }

    /// <summary>A W3C trace context: the current activity's, or a new random one. The worker
    /// fails with a null reference when it is missing.</summary>
    public static RpcTraceContext TraceContext(string functionName)
    {
        var ctx = new RpcTraceContext();
        var activity = Activity.Current;
        if (activity is not null && activity.IdFormat == ActivityIdFormat.W3C && activity.Id is { } id)
        {
            ctx.TraceParent = id;
            ctx.TraceState = activity.TraceStateString ?? "";
        }
        else
        {
            Span<byte> trace = stackalloc byte[16];
            Span<byte> span = stackalloc byte[8];
            RandomNumberGenerator.Fill(trace);
            RandomNumberGenerator.Fill(span);
            ctx.TraceParent = $"00-{Convert.ToHexStringLower(trace)}-{Convert.ToHexStringLower(span)}-01";
            ctx.TraceState = "";
        }
        ctx.Attributes["ProcessId"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ctx.Attributes["LogLevel"] = "Information";
        ctx.Attributes["Category"] = "Function." + functionName;
        return ctx;
    }

    public static TypedData Json(object value) => new() { Json = JsonSerializer.Serialize(value) };
    public static TypedData Text(string value) => new() { String = value };

    /// <summary>A DateTimeOffset as Newtonsoft serialises it (Azure sends such values as JSON strings).</summary>
    public static TypedData Time(DateTimeOffset? value) =>
        value is { } v ? new TypedData { Json = JsonSerializer.Serialize(v.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFzzz", System.Globalization.CultureInfo.InvariantCulture)) } : new TypedData();

    public static bool Succeeded(InvocationResponse response) => response.Result?.Status == StatusResult.Types.Status.Success;

    public static string Describe(InvocationResponse response) =>
        response.Result?.Exception is { } e ? $"{e.Message}" : response.Result?.Status.ToString() ?? "no result";
}
