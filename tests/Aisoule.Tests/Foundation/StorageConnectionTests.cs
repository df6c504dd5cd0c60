using Aisoule.Core.Hosting;
using Aisoule.Core.Storage;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>
/// The app reaches storage the way the Functions host does: by <c>AzureWebJobsStorage</c> as a connection string
/// (Azurite on a laptop), or identity-based with <c>AzureWebJobsStorage__accountName</c> and a managed identity
/// (Azure, where shared keys are off).
/// </summary>
public sealed class StorageConnectionTests
{
    private const string EmulatorConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;";

    private const string ClientId = "6b0b5a4e-2a8e-4f2b-9d37-0f1c2a3b4c5d";

    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key.Replace("__", ":", StringComparison.Ordinal), v.Value)))
            .Build();

    [Fact]
    public void A_connection_string_is_used_as_given()
    {
        var connection = StorageConnection.Parse(Settings(("AzureWebJobsStorage", "UseDevelopmentStorage=true")));

        Assert.False(connection.UsesIdentity);
        Assert.Equal("UseDevelopmentStorage=true", connection.ConnectionString);
        var tables = connection.CreateTableServiceClient(new TableClientOptions());
        Assert.Equal("devstoreaccount1", tables.AccountName);
        Assert.Equal(10002, tables.Uri.Port);
    }

    [Fact]
    public void With_no_storage_setting_the_local_emulator_is_used() =>
        Assert.Equal(StorageConnection.DevelopmentStorage, StorageConnection.Parse(Settings()).ConnectionString);

    [Fact]
    public void An_account_name_with_a_user_assigned_managed_identity_reaches_that_accounts_table_and_queue_endpoints()
    {
        var connection = StorageConnection.Parse(Settings(
            ("AzureWebJobsStorage__accountName", "aisouleprod"),
            ("AzureWebJobsStorage__credential", "managedidentity"),
            ("AzureWebJobsStorage__clientId", ClientId)));

        Assert.True(connection.UsesIdentity);
        Assert.Null(connection.ConnectionString);
        Assert.Equal(new Uri("https://aisouleprod.table.core.windows.net"), connection.TableServiceUri);
        Assert.Equal(new Uri("https://aisouleprod.queue.core.windows.net"), connection.QueueServiceUri);
        Assert.IsType<ManagedIdentityCredential>(connection.Credential);
        Assert.Contains(ClientId, connection.Description, StringComparison.Ordinal);

        var tables = connection.CreateTableServiceClient(new TableClientOptions());
        var queues = connection.CreateQueueServiceClient(new QueueClientOptions());
        Assert.Equal("aisouleprod", tables.AccountName);
        Assert.Equal("aisouleprod", queues.AccountName);
        Assert.Equal("aisouleprod.queue.core.windows.net", queues.GetQueueClient("sends").Uri.Host);
    }

    [Fact]
    public void A_managed_identity_without_a_client_id_is_the_system_assigned_one()
    {
        var connection = StorageConnection.Parse(Settings(
            ("AzureWebJobsStorage__accountName", "aisouleprod"),
            ("AzureWebJobsStorage__credential", "ManagedIdentity")));

        Assert.IsType<ManagedIdentityCredential>(connection.Credential);
        Assert.Contains("system-assigned", connection.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void An_account_name_without_a_credential_setting_uses_the_default_azure_credential()
    {
        var connection = StorageConnection.Parse(Settings(("AzureWebJobsStorage__accountName", "aisouleprod")));

        Assert.IsType<DefaultAzureCredential>(connection.Credential);
    }

    [Fact]
    public void Service_uris_may_be_given_instead_of_an_account_name()
    {
        var connection = StorageConnection.Parse(Settings(
            ("AzureWebJobsStorage__tableServiceUri", "https://tables.example.net/"),
            ("AzureWebJobsStorage__queueServiceUri", "https://queues.example.net/"),
            ("AzureWebJobsStorage__credential", "managedidentity")));

        Assert.Equal("tables.example.net", connection.TableServiceUri!.Host);
        Assert.Equal("queues.example.net", connection.QueueServiceUri!.Host);
    }

    [Fact]
    public void A_connection_string_wins_over_identity_settings_as_in_the_functions_host()
    {
        var connection = StorageConnection.Parse(Settings(
            ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
            ("AzureWebJobsStorage__accountName", "aisouleprod")));

        Assert.False(connection.UsesIdentity);
    }

    [Theory]
    [InlineData("AzureWebJobsStorage__accountName", "Aisoule_Prod", "AzureWebJobsStorage__accountName")]
    [InlineData("AzureWebJobsStorage__credential", "clientsecret", "AzureWebJobsStorage__credential")]
    [InlineData("AzureWebJobsStorage__clientId", "not-a-guid", "AzureWebJobsStorage__clientId")]
    [InlineData("AzureWebJobsStorage__managedIdentityResourceId", "my-identity", "AzureWebJobsStorage__managedIdentityResourceId")]
    [InlineData("AzureWebJobsStorage__tableServiceUri", "http://aisouleprod.table.core.windows.net", "AzureWebJobsStorage__tableServiceUri")]
    [InlineData("AzureWebJobsStorage__queueServiceUri", "https://user:pw@aisouleprod.queue.core.windows.net", "AzureWebJobsStorage__queueServiceUri")]
    public void An_identity_setting_that_cannot_work_is_refused_naming_it(string key, string value, string named)
    {
        var settings = new List<(string, string)> { ("AzureWebJobsStorage__accountName", "aisouleprod") };
        settings.RemoveAll(s => s.Item1 == key);
        settings.Add((key, value));

        var error = Assert.Throws<InvalidOperationException>(() => StorageConnection.Parse(Settings([.. settings])));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_one_service_uri_without_an_account_name_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.Parse(Settings(("AzureWebJobsStorage__tableServiceUri", "https://tables.example.net"))));
        Assert.Contains("AzureWebJobsStorage__queueServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Both_a_client_id_and_a_resource_id_are_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageConnection.Parse(Settings(
            ("AzureWebJobsStorage__accountName", "aisouleprod"),
            ("AzureWebJobsStorage__clientId", ClientId),
            ("AzureWebJobsStorage__managedIdentityResourceId", "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"))));
        Assert.Contains("not both", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_apps_table_and_queue_clients_follow_identity_settings()
    {
        using var services = new ServiceCollection()
            .AddLogging()
            .AddAisouleCore(Settings(
                ("AzureWebJobsStorage__accountName", "aisouleprod"),
                ("AzureWebJobsStorage__credential", "managedidentity"),
                ("AzureWebJobsStorage__clientId", ClientId)))
            .BuildServiceProvider();

        Assert.Equal(new Uri("https://aisouleprod.table.core.windows.net"), services.GetRequiredService<TableServiceClient>().Uri);
        Assert.Equal("aisouleprod.queue.core.windows.net", services.GetRequiredService<QueueServiceClient>().Uri.Host);
    }

    [Fact]
    public void The_apps_table_and_queue_clients_follow_a_connection_string()
    {
        using var services = new ServiceCollection()
            .AddLogging()
            .AddAisouleCore(Settings(("AzureWebJobsStorage", EmulatorConnectionString)))
            .BuildServiceProvider();

        Assert.Equal(EmulatorConnectionString, services.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString);
        Assert.Equal("devstoreaccount1", services.GetRequiredService<TableServiceClient>().AccountName);
    }

    [Fact]
    public void Storage_settings_that_make_no_connection_stop_the_start_with_the_reason()
    {
        using var services = new ServiceCollection()
            .AddLogging()
            .AddAisouleCore(Settings(("AzureWebJobsStorage__accountName", "Not A Name")))
            .BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageOptions>>().Value);
        Assert.Contains("AzureWebJobsStorage__accountName", error.Message, StringComparison.Ordinal);
    }
}
