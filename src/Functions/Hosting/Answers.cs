using Microsoft.AspNetCore.Http.HttpResults;

namespace AccountFunctions.Functions.Hosting;

/// <summary>The few answer shapes the functions share, typed so that each function's signature names its outcomes.</summary>
public static class Answers
{
    /// <summary>202 <c>{"status": ...}</c>: what the enumeration-safe requests answer either way.</summary>
    public static JsonHttpResult<StatusAnswer> Accepted(string status) => TypedResults.Json(new StatusAnswer(status), Json.Options, statusCode: StatusCodes.Status202Accepted);

    public static JsonHttpResult<T> Ok<T>(T value) => TypedResults.Json(value, Json.Options);

    public static JsonHttpResult<T> Created<T>(T value) => TypedResults.Json(value, Json.Options, statusCode: StatusCodes.Status201Created);
}

/// <summary><c>{"status": ...}</c>.</summary>
public sealed record StatusAnswer(string Status);
