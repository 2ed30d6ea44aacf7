Console.Error.WriteLine("placeholder");
