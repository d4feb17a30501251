import DataPortModel

extension JSONObjectReader {
    /// This object as a `Controller`: the same members in the stores config and the manifest
    /// (`name`, `contact`, `address`, `dpo`, `supervisoryAuthority`); unknown ones refused.
    package func controller() throws -> Controller {
        var controller = Controller(name: try string("name"), contact: try string("contact"),
                                    address: try optionalString("address"), dpoContact: try optionalString("dpo"))
        if let a = try optionalObject("supervisoryAuthority") {
            controller.supervisoryAuthority = SupervisoryAuthority(name: try a.string("name"), address: try a.optionalString("address"),
                                                                   website: try a.optionalString("website"))
            try a.finish()
        }
        try finish()
        return controller
    }
}
