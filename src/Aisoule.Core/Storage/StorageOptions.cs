using System.ComponentModel.DataAnnotations;

namespace Aisoule.Core.Storage;

/// <summary>Where tables and queues live, and the name prefix that keeps test runs apart.</summary>
public sealed class StorageOptions
{
    /// <summary>The Functions convention: the same setting the host uses for its own queues.</summary>
    public const string ConnectionSetting = "AzureWebJobsStorage";

    [Required]
    public string ConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>Prepended to every table and queue name; letters and digits only, starting with a letter.</summary>
    [RegularExpression("^([a-z][a-z0-9]{0,15})?$", ErrorMessage = "Storage:Prefix must be lowercase letters and digits, starting with a letter, at most 16 characters.")]
    public string Prefix { get; set; } = "";
}
