using System.ComponentModel.DataAnnotations;

namespace Aisoule.Core.Storage;

/// <summary>Where tables and queues live, and the name prefix that keeps test runs apart.</summary>
public sealed class StorageOptions
{
    /// <summary>The Functions convention: the same setting the host uses for its own queues.</summary>
    public const string ConnectionSetting = "AzureWebJobsStorage";

    /// <summary>A connection string; used when <see cref="Connection"/> is not set.</summary>
    [Required]
    public string ConnectionString { get; set; } = StorageConnection.DevelopmentStorage;

    /// <summary>The connection read from <c>AzureWebJobsStorage</c> and its sub-settings (an identity-based one too).</summary>
    public StorageConnection? Connection { get; set; }

    /// <summary>Why the settings do not make a connection, when they do not.</summary>
    public string? ConnectionError { get; set; }

    /// <summary>Prepended to every table and queue name; letters and digits only, starting with a letter.</summary>
    [RegularExpression("^([a-z][a-z0-9]{0,15})?$", ErrorMessage = "Storage:Prefix must be lowercase letters and digits, starting with a letter, at most 16 characters.")]
    public string Prefix { get; set; } = "";

    public StorageConnection ResolveConnection() => Connection ?? StorageConnection.FromConnectionString(ConnectionString);
}

/// <summary>Fails the start with the reason the storage settings do not make a connection.</summary>
internal sealed class StorageConnectionValidation : Microsoft.Extensions.Options.IValidateOptions<StorageOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, StorageOptions options) =>
        options.ConnectionError is { } error
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Fail(error)
            : Microsoft.Extensions.Options.ValidateOptionsResult.Success;
}
