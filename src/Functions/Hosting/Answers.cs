using Microsoft.AspNetCore.Http;

namespace AccountFunctions.Functions.Hosting;

/// <summary>The few answer shapes the functions share.</summary>
public static class Answers
{
    /// <summary>202 <c>{"status": ...}</c>: what the enumeration-safe requests answer either way.</summary>
    public static IResult Accepted(string status) => Results.Json(new { status }, Json.Options, statusCode: StatusCodes.Status202Accepted);

    public static IResult Ok<T>(T value) => Results.Json(value, Json.Options);

    public static IResult Created<T>(T value) => Results.Json(value, Json.Options, statusCode: StatusCodes.Status201Created);
}
