namespace AccountFunctions.Functions.Triggers;

public static class TriggerEndpoints
{
    /// <summary><c>POST /SendEmail</c> and <c>POST /LockoutSweep</c>: what the Functions host calls.</summary>
    public static void MapTriggers(this IEndpointRouteBuilder app)
    {
        foreach (var function in new[] { TriggerFunctions.SendEmail, TriggerFunctions.LockoutSweep })
        {
            app.MapPost("/" + function, async (HttpContext http, TriggerFunctions triggers) =>
            {
                using var reader = new StreamReader(http.Request.Body);
                var payload = await reader.ReadToEndAsync(http.RequestAborted);
                var outcome = await triggers.InvokeAsync(function, payload, http.RequestAborted);
                return Results.Json(outcome.Body, statusCode: outcome.Succeeded ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError,
                    contentType: "application/json");
            });
        }
    }
}
