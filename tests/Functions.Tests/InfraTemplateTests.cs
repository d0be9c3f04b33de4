using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// infra/main.bicep compiled with the Bicep CLI from NuGet (as scripts/bicep.sh runs it), and the
/// ARM JSON read: storage without shared keys, no storage secret, identity-based AzureWebJobsStorage,
/// and every data role given to the identity the app runs as.
/// </summary>
public sealed class InfraTemplateTests
{
    private static readonly Lazy<JsonElement> Template = new(Compile);

    // Built-in role definition ids.
    private const string BlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string QueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string TableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";

    // How ARM names the app's principal: the user-assigned identity's when one is given, else the site's own.
    private const string SystemAssignedPrincipal = "reference(resourceId('Microsoft.Web/sites', parameters('functionAppName')), '2024-04-01', 'full').identity.principalId";

    [Fact]
    public void StorageAccountRefusesSharedKeys()
    {
        var storage = Assert.Single(Resources("Microsoft.Storage/storageAccounts"));
        Assert.Equal(JsonValueKind.False, storage.GetProperty("properties").GetProperty("allowSharedKeyAccess").ValueKind);
    }

    [Fact]
    public void NoStorageSecretAndNoAccountKeyAnywhere()
    {
        var names = Resources("Microsoft.KeyVault/vaults/secrets").Select(s => SecretName(s.GetProperty("name").GetString()!));
        // Only the app's own secrets: signing keys, the token key, SendGrid, and the SMTP OAuth client secret and refresh token.
        Assert.Equal(["JwtPreviousSigningKey", "JwtSigningKey", "SendGridApiKey", "SmtpOAuthClientSecret", "SmtpOAuthRefreshToken", "TokenKey"], names.Order());
        var text = Template.Value.GetRawText();
        Assert.DoesNotContain("StorageConnectionString", text);
        Assert.DoesNotContain("listKeys", text);
        Assert.DoesNotContain("AccountKey=", text);
    }

    [Fact]
    public void AzureWebJobsStorageIsIdentityBasedForHostAndApp()
    {
        var settings = Assert.Single(Resources("Microsoft.Web/sites/config")).GetProperty("properties").GetString()!;

        Assert.Contains("'AzureWebJobsStorage__accountName', parameters('storageAccountName')", settings);
        Assert.Contains("'AzureWebJobsStorage__credential', 'managedidentity'", settings);
        // A value in AzureWebJobsStorage itself would be read as a connection string.
        Assert.DoesNotMatch(new Regex("'AzureWebJobsStorage'"), settings);
        // The client id of the user-assigned identity, only when one is given.
        Assert.Matches(new Regex(@"if\(variables\('useUserAssignedIdentity'\), createObject\('AzureWebJobsStorage__clientId', reference\(extensionResourceId\([^;]*'Microsoft\.ManagedIdentity/userAssignedIdentities'[^;]*\)\.clientId\), createObject\(\)\)"), settings);
    }

    [Fact]
    public void DataRolesGoToTheAppIdentityOnTheStorageAccount()
    {
        var assignments = Resources("Microsoft.Authorization/roleAssignments").ToList();
        var app = assignments.Where(a => RoleId(a) is BlobDataOwner or QueueDataContributor or TableDataContributor or KeyVaultSecretsUser).ToList();

        Assert.Equal(new[] { BlobDataOwner, KeyVaultSecretsUser, QueueDataContributor, TableDataContributor }.Order(), app.Select(RoleId).Order());
        foreach (var a in app)
        {
            var principal = a.GetProperty("properties").GetProperty("principalId").GetString()!;
            Assert.StartsWith("[if(variables('useUserAssignedIdentity'), reference(extensionResourceId(", principal);
            Assert.Contains("'Microsoft.ManagedIdentity/userAssignedIdentities'", principal);
            Assert.EndsWith(").principalId, " + SystemAssignedPrincipal + ")]", principal);
            Assert.Equal("ServicePrincipal", a.GetProperty("properties").GetProperty("principalType").GetString());
            var scope = a.GetProperty("scope").GetString();
            Assert.Equal(RoleId(a) == KeyVaultSecretsUser
                ? "[resourceId('Microsoft.KeyVault/vaults', parameters('keyVaultName'))]"
                : "[resourceId('Microsoft.Storage/storageAccounts', parameters('storageAccountName'))]", scope);
        }
    }

    [Fact]
    public void TheAppRunsAsOneIdentityForPackageAndKeyVault()
    {
        var app = Assert.Single(Resources("Microsoft.Web/sites"));
        Assert.Equal("[if(variables('useUserAssignedIdentity'), createObject('type', 'UserAssigned', 'userAssignedIdentities', createObject(format('{0}', parameters('userAssignedIdentityResourceId')), createObject())), createObject('type', 'SystemAssigned'))]",
            app.GetProperty("identity").GetString());
        var site = app.GetProperty("properties");
        var auth = site.GetProperty("functionAppConfig").GetProperty("deployment").GetProperty("storage").GetProperty("authentication").GetString()!;
        Assert.Equal("[if(variables('useUserAssignedIdentity'), createObject('type', 'UserAssignedIdentity', 'userAssignedIdentityResourceId', parameters('userAssignedIdentityResourceId')), createObject('type', 'SystemAssignedIdentity'))]", auth);
        Assert.Equal("[if(variables('useUserAssignedIdentity'), parameters('userAssignedIdentityResourceId'), 'SystemAssigned')]", site.GetProperty("keyVaultReferenceIdentity").GetString());
    }

    private static string RoleId(JsonElement assignment)
    {
        var expression = assignment.GetProperty("properties").GetProperty("roleDefinitionId").GetString()!;
        var variable = Regex.Match(expression, @"variables\('(\w+)'\)").Groups[1].Value;
        return Template.Value.GetProperty("variables").GetProperty(variable).GetString()!;
    }

    /// <summary>The secret in a name such as <c>[format('{0}/{1}', parameters('keyVaultName'), variables('secretTokenKey'))]</c>.</summary>
    private static string SecretName(string expression)
    {
        var match = Regex.Match(expression, @"^\[format\('\{0\}/\{1\}', parameters\('keyVaultName'\), variables\('(\w+)'\)\)\]$");
        Assert.True(match.Success, $"unexpected secret name {expression}");
        return Template.Value.GetProperty("variables").GetProperty(match.Groups[1].Value).GetString()!;
    }

    private static IEnumerable<JsonElement> Resources(string type)
    {
        var resources = Template.Value.GetProperty("resources");
        var all = resources.ValueKind == JsonValueKind.Object ? resources.EnumerateObject().Select(p => p.Value) : resources.EnumerateArray();
        return all.Where(r => r.GetProperty("type").GetString() == type && !r.TryGetProperty("existing", out _)).ToList();
    }

    private static JsonElement Compile()
    {
        var bicep = BicepCli();
        var info = new ProcessStartInfo(bicep, ["build", Path.Combine(Repo.Root, "infra", "main.bicep"), "--stdout"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repo.Root,
        };
        info.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        info.Environment["BICEP_TRACING_ENABLED"] = "false";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var json = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"bicep build failed: {stderr.Result}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>The CLI in the NuGet package build/bicep/bicep.csproj names, restored if it is not there yet.</summary>
    private static string BicepCli()
    {
        var project = Path.Combine(Repo.Root, "build", "bicep", "bicep.csproj");
        var version = Regex.Match(File.ReadAllText(project), @"Azure\.Bicep\.CommandLine\.linux-x64"" Version=""\[([^\]]+)\]""").Groups[1].Value;
        Assert.NotEmpty(version);
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "azure.bicep.commandline.linux-x64", version, "tools", "bicep");
        if (!File.Exists(path))
        {
            using var restore = Process.Start(new ProcessStartInfo("dotnet", ["restore", project, "--verbosity", "quiet"]) { WorkingDirectory = Repo.Root })!;
            restore.WaitForExit();
        }
        Assert.True(File.Exists(path), $"the Bicep CLI is not at {path}");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute);
        return path;
    }
}
