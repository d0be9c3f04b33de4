using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.Core;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccountFunctions.Functions.Tests;

/// <summary>The served OpenAPI document lists exactly the app's routes, and every error code of the catalogue.</summary>
public sealed partial class OpenApiTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private async Task<JsonElement> DocumentAsync()
    {
        var response = await fixture.App.GetAsync("/api/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await TestApp.Body(response);
    }

    // "/api/me/sessions/{id}" and "/account/{*rest}" as OpenAPI writes them: "{id}", "{rest}".
    private static string Normalize(string pattern) =>
        "/" + ParameterRegex().Replace(pattern.TrimStart('/'), m => "{" + m.Groups[1].Value + "}");

    [GeneratedRegex(@"\{\*{0,2}([A-Za-z0-9_]+)[^}]*\}")]
    private static partial Regex ParameterRegex();

    [Fact]
    public async Task TheDocumentListsEveryRouteOfTheAppAndNoOther()
    {
        var doc = await DocumentAsync();
        Assert.StartsWith("3.1", doc.GetProperty("openapi").GetString());
        var documented = doc.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}"))
            .ToHashSet();
        // The catch-all answers 404 for every path under /api/ no operation has: not an operation itself.
        var mapped = fixture.App.HttpFunctions.Where(f => f.Name != Operations.UnknownRouteFunction.Name)
            .SelectMany(f => f.Methods.Select(m => $"{m} {Normalize(f.Route)}"))
            .ToHashSet();
        Assert.True(mapped.Count > 40, $"only {mapped.Count} routes found");
        Assert.Empty(mapped.Except(documented).Order());
        Assert.Empty(documented.Except(mapped).Order());
    }

    [Fact]
    public async Task EveryOperationHasResponsesAndEveryRefResolves()
    {
        var doc = await DocumentAsync();
        foreach (var path in doc.GetProperty("paths").EnumerateObject())
        foreach (var op in path.Value.EnumerateObject())
        {
            Assert.True(op.Value.TryGetProperty("summary", out _), $"{op.Name} {path.Name} has no summary");
            Assert.True(op.Value.GetProperty("responses").EnumerateObject().Any(r => r.Name.StartsWith('2') || r.Name.StartsWith('3')),
                $"{op.Name} {path.Name} has no success response");
        }
        var text = doc.GetRawText();
        foreach (Match m in Regex.Matches(text, "\"\\$ref\":\\s*\"#/components/(\\w+)/(\\w+)\""))
            Assert.True(doc.GetProperty("components").GetProperty(m.Groups[1].Value).TryGetProperty(m.Groups[2].Value, out _), $"{m.Value} does not resolve");
    }

    [Fact]
    public async Task TheProblemSchemaListsEveryCodeOfTheErrorsCatalogue()
    {
        var doc = await DocumentAsync();
        var listed = doc.GetProperty("components").GetProperty("schemas").GetProperty("Problem").GetProperty("properties")
            .GetProperty("code").GetProperty("anyOf")[0].GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToHashSet();
        var catalogue = typeof(Errors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(Error)).Select(f => ((Error)f.GetValue(null)!).Code)
            .Concat([Errors.Validation("x", "y").Code, Errors.WeakPassword("x").Code, Errors.TooManyRequests(TimeSpan.Zero).Code])
            .ToList();
        Assert.True(catalogue.Count > 20);
        foreach (var code in catalogue) Assert.Contains(code, listed);
    }
}
