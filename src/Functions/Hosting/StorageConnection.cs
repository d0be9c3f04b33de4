using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using AccountFunctions.Core;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Azure;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// The app's storage clients from the <c>AzureWebJobsStorage</c> setting, read the way the Functions
/// host reads it for the queue trigger (the storage extensions' StorageClientProvider), so both
/// always talk to the same account:
/// <list type="bullet">
/// <item>a value is a connection string (Azurite, local runs, tests; <c>UseDevelopmentStorage=true</c>);</item>
/// <item>otherwise the identity-based settings: <c>__accountName</c> (https://{name}.table|queue.core.windows.net),
/// else <c>__tableServiceUri</c> / <c>__queueServiceUri</c>; the credential from <c>__credential</c>
/// (<c>managedidentity</c>) and <c>__clientId</c> (a user-assigned identity), and without them
/// DefaultAzureCredential.</item>
/// </list>
/// Credentials and connection strings are Microsoft.Extensions.Azure's (AzureComponentFactory, as
/// the host uses it); only the account-name and service-URI forms are the host's own convention.
/// </summary>
public static class StorageConnection
{
    public const string Setting = "AzureWebJobsStorage";
    private const string DevelopmentStorage = "UseDevelopmentStorage=true";
    private const string EndpointSuffix = "core.windows.net";

    public static StorageContext CreateContext(IConfiguration config, StorageOptions options, AzureComponentFactory factory, HttpPipelinePolicy? policy = null)
    {
        var section = Section(config);
        var credential = Credential(section, factory);
        return new StorageContext(
            o => CreateTableService(section, factory, credential, o),
            o => CreateQueueService(section, factory, credential, o),
            options, policy);
    }

    /// <summary>The setting's section; absent or empty, the local emulator (Azurite).</summary>
    public static IConfigurationSection Section(IConfiguration config)
    {
        var section = config.GetSection(Setting);
        if (!string.IsNullOrEmpty(section.Value) || section.GetChildren().Any()) return section;
        return new ConfigurationBuilder().AddInMemoryCollection([new(Setting, DevelopmentStorage)]).Build().GetSection(Setting);
    }

    public static bool IsConnectionString(IConfigurationSection section) => !string.IsNullOrEmpty(section.Value);

    /// <summary>The token credential for identity-based settings; null for a connection string (it carries its own key).</summary>
    public static TokenCredential? Credential(IConfigurationSection section, AzureComponentFactory factory) =>
        IsConnectionString(section) ? null : factory.CreateTokenCredential(section);

    public static TableServiceClient CreateTableService(IConfigurationSection section, AzureComponentFactory factory, TokenCredential? credential, TableClientOptions options) =>
        ServiceUri(section, "table") is { } uri
            ? new TableServiceClient(uri, credential, options)
            : (TableServiceClient)factory.CreateClient(typeof(TableServiceClient), section, credential, options);

    public static QueueServiceClient CreateQueueService(IConfigurationSection section, AzureComponentFactory factory, TokenCredential? credential, QueueClientOptions options) =>
        ServiceUri(section, "queue") is { } uri
            ? new QueueServiceClient(uri, credential, options)
            : (QueueServiceClient)factory.CreateClient(typeof(QueueServiceClient), section, credential, options);

    /// <summary>
    /// The host's identity-based forms: <c>accountName</c> first, then <c>{service}ServiceUri</c>. Null
    /// for a connection string, or when neither is there (AzureComponentFactory then matches the
    /// section to a client constructor, and names the keys it expected if nothing fits).
    /// </summary>
    private static Uri? ServiceUri(IConfigurationSection section, string service)
    {
        if (IsConnectionString(section)) return null;
        if (section["accountName"] is { Length: > 0 } account) return new Uri($"https://{account}.{service}.{EndpointSuffix}");
        if (section[service + "ServiceUri"] is { Length: > 0 } uri) return new Uri(uri);
        return null;
    }
}
